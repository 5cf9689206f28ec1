using System.Globalization;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;
using RaftToolkit.Native.CrashChild;

// A process to be killed: writes to many groups through one store's write coalescer (appends,
// votes, truncations and purges) and prints each write once it is acknowledged durable, so the
// crash test can check that everything printed survived a SIGKILL.
//
// Usage: RaftToolkit.Native.CrashChild <db path> <seed> <groups> <concurrent writers> <first term> [write buffer bytes]
// Entries carry terms from <first term> up, one more after each truncation or group removal, so
// an entry that a durable truncation or removal deleted can never be mistaken for one appended
// after it; each run is given a first term above every term of the runs before it, and its
// votes start there too.
// A small write buffer makes the store flush memtables and roll (and reuse) WAL files often, so
// the kill also lands during flushes and on recycled WALs; such a child also flushes after every
// 16 range deletions (truncations, purges, removals), so flushes of memtables full of them are
// killed too.
// Output lines, each group's in the order its writes were issued (a group belongs to one writer,
// which issues its next write only after the last one was acknowledged):
//   READY
//   A <group> <first> <last> <term>    entries first..last, of <term>, are durable
//   V <group> <term>                   a vote of <term> is durable
//   t <group> <index>                  about to truncate after <index>, which may be the last purged
//                                      index (emptying the log) (it may or may not happen)
//   T <group> <index> <term>           the truncation is durable; later entries are of <term> or more
//   p <group> <index>                  about to purge up to <index>, which may be past the last entry
//                                      (emptying the log) (it may or may not happen)
//   P <group> <index>                  the purge is durable
//   r <group>                          about to remove the group (it may or may not happen)
//   R <group> <term> <vote term>       the removal is durable; later entries are of <term> or
//                                      more, later votes of <vote term> or more
//   F <error>                          a writer's write failed: the store stopped (one line per writer)
//   E <error>                          a writer failed otherwise (a bug: the test fails on it)
// Exit code: 3 when the store stopped after an I/O error (a writer printed F).
if (args.Length is not (5 or 6))
{
    Console.Error.WriteLine("usage: <db path> <seed> <groups> <writers> <first term> [write buffer bytes]");
    return 2;
}

string path = args[0];
int seed = int.Parse(args[1], CultureInfo.InvariantCulture);
int groups = int.Parse(args[2], CultureInfo.InvariantCulture);
int writers = int.Parse(args[3], CultureInfo.InvariantCulture);
ulong firstTerm = ulong.Parse(args[4], CultureInfo.InvariantCulture);

var options = new RocksDbLogStoreOptions();
if (args.Length == 6)
{
    options.WriteBufferSize = ulong.Parse(args[5], CultureInfo.InvariantCulture);
    options.MaxRangeDeletionsPerMemtable = 16;
}

await using var store = RocksDbLogStore.Open(path, options);

// Per group: the next index, the last purged index (-1: none), the term of new entries, the vote's term.
var next = new ulong[groups];
var purged = new long[groups];
var entryTerms = new ulong[groups];
var voteTerms = new ulong[groups];
for (int g = 0; g < groups; g++)
{
    var log = store.ForGroup((ulong)g);
    var state = await log.GetLogStateAsync();
    next[g] = state.LastLogId.NextIndex();
    purged[g] = state.LastPurgedLogId is { } lastPurged ? (long)lastPurged.Index : -1;
    entryTerms[g] = firstTerm;
    // Below the first term: the group's first append saves a vote of it (a stored vote is of an earlier run, below it too).
    voteTerms[g] = Math.Max((await log.ReadVoteAsync())?.Term ?? 0, firstTerm - 1);
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
        catch (Exception e)
        {
            // Any other error is a bug, in the store or here: said at once, on one line, rather
            // than left in a task nobody looks at while the other writers go on.
            Console.Out.WriteLine($"E {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        }
    });
}

await Task.WhenAll(tasks);
return 3;

// Writes until the store fails: 10 % votes, 4 % truncations (short, now and then back to the
// purged id), 4 % purges (now and then past the last entry), 1 % group removals, the rest
// appends, so logs grow. Truncations and purges that empty the log leave it at its purged id.
// No entry has a term above its group's vote, as in a node's log.
async Task WriteForever(int writer, Random random)
{
    while (true)
    {
        int g = writer + (writers * random.Next((groups - writer + writers - 1) / writers));
        var log = store.ForGroup((ulong)g);
        long last = (long)next[g] - 1;
        int dice = random.Next(100);
        if (dice < 10)
        {
            ulong term = ++voteTerms[g];
            await log.SaveVoteAsync(new Vote(term, (ulong)writer));
            Console.Out.WriteLine($"V {g} {term}");
        }
        else if (dice < 14 && last - purged[g] >= 2)
        {
            // Drop one to three entries; one time in eight, every entry after the purged id.
            ulong after = purged[g] >= 0 && random.Next(8) == 0
                ? (ulong)purged[g]
                : (ulong)random.NextInt64(Math.Max(purged[g] + 1, last - 3), last);
            Console.Out.WriteLine($"t {g} {after}");

            // The purged id is no entry's to read back (GetLogId refuses purged indexes): the log state has it.
            await log.TruncateAfterAsync((long)after == purged[g] ? (await log.GetLogStateAsync()).LastPurgedLogId : await log.GetLogIdAsync(after));
            next[g] = after + 1;
            entryTerms[g]++;
            Console.Out.WriteLine($"T {g} {after} {entryTerms[g]}");
        }
        else if (dice < 18 && last - purged[g] >= 3)
        {
            // Keep at least two entries; one time in eight, purge past the last one (as a snapshot
            // install does), which empties the log and moves it on to the purged id.
            bool pastTheEnd = random.Next(8) == 0;
            ulong upTo = pastTheEnd ? (ulong)last + 1 + (ulong)random.Next(3) : (ulong)random.NextInt64(purged[g] + 1, last - 1);
            Console.Out.WriteLine($"p {g} {upTo}");
            await log.PurgeAsync(pastTheEnd ? new LogId(entryTerms[g], 0, upTo) : await log.GetLogIdAsync(upTo));
            purged[g] = (long)upTo;
            next[g] = Math.Max(next[g], upTo + 1);
            Console.Out.WriteLine($"P {g} {upTo}");
        }
        else if (dice == 18)
        {
            Console.Out.WriteLine($"r {g}");
            await store.RemoveGroupAsync((ulong)g);
            next[g] = 0;
            purged[g] = -1;
            entryTerms[g]++;
            Console.Out.WriteLine($"R {g} {entryTerms[g]} {voteTerms[g] + 1}");
        }
        else
        {
            // As a node does, a leader's vote is saved before any entry of its term is written:
            // entries take a new term after a truncation or a removal.
            if (voteTerms[g] < entryTerms[g])
            {
                voteTerms[g] = entryTerms[g];
                await log.SaveVoteAsync(new Vote(voteTerms[g], (ulong)writer));
                Console.Out.WriteLine($"V {g} {voteTerms[g]}");
            }

            int count = 1 + random.Next(3);
            ulong first = next[g];
            var entries = new Entry[count];
            for (int i = 0; i < count; i++)
            {
                ulong index = first + (ulong)i;
                entries[i] = Entry.Normal(new LogId(entryTerms[g], 0, index), CrashPayload.For((ulong)g, index, entryTerms[g]));
            }

            await log.AppendAsync(entries, NoCallback.Instance);
            next[g] += (ulong)count;
            Console.Out.WriteLine($"A {g} {first} {next[g] - 1} {entryTerms[g]}");
        }
    }
}

namespace RaftToolkit.Native.CrashChild
{
    /// <summary>
    /// The payload of each entry is a function of its group, index and term, so survivors can
    /// be checked. Lengths vary from 24 bytes to about 1 KiB (about 500 on average), so a few
    /// hundred writes fill a small write buffer.
    /// </summary>
    public static class CrashPayload
    {
        public static byte[] For(ulong group, ulong index, ulong term)
        {
            ulong mix = group ^ (index * 0x9E3779B97F4A7C15) ^ (term * 0xC2B2AE3D27D4EB4F);
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
