using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;
using RaftToolkit.Native.CrashChild;

// A process to be killed: appends to many groups through one store's write coalescer and prints
// each write once it is acknowledged durable, so the crash test can check that everything
// printed survived a SIGKILL.
//
// Usage: RaftToolkit.Native.CrashChild <db path> <seed> <groups> <concurrent writers> [write buffer bytes]
// A small write buffer makes the store flush memtables and roll (and reuse) WAL files often, so
// the kill also lands during flushes and on recycled WALs.
// Output lines (one per acknowledged write):
//   READY
//   A <group> <last index>     entries up to <last index> are durable
//   V <group> <term>           a vote of <term> is durable
//   F <error>                  a writer's write failed: the store stopped (one line per writer)
// Exit code: 3 when the store stopped after an I/O error (a writer printed F).
if (args.Length is not (4 or 5))
{
    Console.Error.WriteLine("usage: <db path> <seed> <groups> <writers> [write buffer bytes]");
    return 2;
}

string path = args[0];
int seed = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
int groups = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
int writers = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);

var options = new RocksDbLogStoreOptions();
if (args.Length == 5)
{
    options.WriteBufferSize = ulong.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
}

await using var store = RocksDbLogStore.Open(path, options);
var next = new ulong[groups];
var terms = new ulong[groups];
for (int g = 0; g < groups; g++)
{
    var log = store.ForGroup((ulong)g);
    next[g] = (await log.GetLogStateAsync()).LastLogId.NextIndex();
    terms[g] = (await log.ReadVoteAsync())?.Term ?? 0;
}

Console.Out.WriteLine("READY");
var tasks = new Task[writers];
for (int w = 0; w < writers; w++)
{
    int writer = w;
    tasks[w] = Task.Run(async () =>
    {
        var random = new Random(seed * 7919 + writer);
        try
        {
            await WriteForever(writer, random);
        }
        catch (StoreFailedException e)
        {
            Console.Out.WriteLine($"F {e.InnerException?.Message ?? e.Message}");
        }
    });
}

await Task.WhenAll(tasks);
return 3;

// Writes until the store fails; each group belongs to one writer, so its writes are issued in order.
async Task WriteForever(int writer, Random random)
{
    while (true)
    {
        int g = writer + (writers * random.Next((groups - writer + writers - 1) / writers));
        var log = store.ForGroup((ulong)g);
        if (random.Next(10) == 0)
        {
            ulong term = ++terms[g];
            await log.SaveVoteAsync(new Vote(term, (ulong)writer));
            Console.Out.WriteLine($"V {g} {term}");
        }
        else
        {
            int count = 1 + random.Next(3);
            var entries = new Entry[count];
            for (int i = 0; i < count; i++)
            {
                ulong index = next[g] + (ulong)i;
                entries[i] = Entry.Normal(new LogId(terms[g], 0, index), CrashPayload.For((ulong)g, index));
            }

            await log.AppendAsync(entries, NoCallback.Instance);
            next[g] += (ulong)count;
            Console.Out.WriteLine($"A {g} {next[g] - 1}");
        }
    }
}

namespace RaftToolkit.Native.CrashChild
{
    /// <summary>
    /// The payload of each entry is a function of its group and index, so survivors can be
    /// checked. Lengths vary from 24 bytes to about 1 KiB (about 500 on average), so a few
    /// hundred writes fill a small write buffer.
    /// </summary>
    public static class CrashPayload
    {
        public static byte[] For(ulong group, ulong index)
        {
            ulong mix = group ^ (index * 0x9E3779B97F4A7C15);
            var payload = new byte[24 + (int)(mix % 1000)];
            BitConverter.TryWriteBytes(payload, group);
            BitConverter.TryWriteBytes(payload.AsSpan(8), index);
            Span<byte> word = stackalloc byte[sizeof(ulong)];
            for (int offset = 16; offset < payload.Length; offset += sizeof(ulong))
            {
                mix = (mix * 6364136223846793005) + 1442695040888963407;
                BitConverter.TryWriteBytes(word, mix);
                word[..Math.Min(sizeof(ulong), payload.Length - offset)].CopyTo(payload.AsSpan(offset));
            }

            return payload;
        }
    }

    /// <summary>The awaited task already reports durability; the callback is not needed.</summary>
    internal sealed class NoCallback : IFlushCallback
    {
        public static NoCallback Instance { get; } = new();

        public void OnFlushed(Exception? error)
        {
        }
    }
}
