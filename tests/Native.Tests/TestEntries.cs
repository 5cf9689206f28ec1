using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native.Tests;

/// <summary>Builders for log entries and callbacks used across the store tests.</summary>
public static class TestEntries
{
    /// <summary>Normal entries of leader (term, node 0) for indexes [first, first + count), payload naming the index.</summary>
    public static Entry[] Range(ulong term, ulong first, int count, int payloadBytes = 16)
    {
        var entries = new Entry[count];
        for (int i = 0; i < count; i++)
        {
            ulong index = first + (ulong)i;
            var payload = new byte[payloadBytes];
            BitConverter.TryWriteBytes(payload, index);
            entries[i] = Entry.Normal(new LogId(term, 0, index), payload);
        }

        return entries;
    }

    public static LogId Id(ulong term, ulong index) => new(term, 0, index);
}

/// <summary>Records every flush outcome it is told.</summary>
public sealed class RecordingCallback : IFlushCallback
{
    private readonly List<Exception?> _outcomes = [];

    public IReadOnlyList<Exception?> Outcomes
    {
        get
        {
            lock (_outcomes)
            {
                return [.. _outcomes];
            }
        }
    }

    public void OnFlushed(Exception? error)
    {
        lock (_outcomes)
        {
            _outcomes.Add(error);
        }
    }
}

/// <summary>
/// A callback that holds the thread answering it (the store's writing thread) until released:
/// on every outcome, or only on an error. Lets a test line up writes behind a write in progress.
/// </summary>
public sealed class HoldingCallback(bool onErrorOnly = false) : IFlushCallback, IDisposable
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(60);

    private readonly ManualResetEventSlim _entered = new();
    private readonly ManualResetEventSlim _released = new();

    /// <summary>
    /// Appends an entry to group 9 of <paramref name="store"/> with a holding callback, and
    /// returns once the store's writing thread is held in it: writes issued until
    /// <see cref="Release"/> queue behind it. <paramref name="append"/> completes after the release.
    /// </summary>
    public static HoldingCallback HoldWriterOf(RocksDbLogStore store, out Task append)
    {
        var hold = new HoldingCallback();
        append = Task.Run(() => store.ForGroup(9).AppendAsync(TestEntries.Range(1, 0, 1), hold).AsTask());
        Assert.True(hold.WaitUntilHolding(), "the store's writing thread never took the held append");
        return hold;
    }

    /// <summary>Waits until the writing thread is held here; false if it was not within a minute.</summary>
    public bool WaitUntilHolding() => _entered.Wait(HoldLimit);

    public void Release() => _released.Set();

    public void OnFlushed(Exception? error)
    {
        if (onErrorOnly && error is null)
        {
            return;
        }

        _entered.Set();
        _released.Wait(HoldLimit);
    }

    public void Dispose()
    {
        _released.Set();
        _entered.Dispose();
    }
}

/// <summary>A callback that ignores the outcome (the awaited task reports it too).</summary>
public sealed class IgnoringCallback : IFlushCallback
{
    public static IgnoringCallback Instance { get; } = new();

    public void OnFlushed(Exception? error)
    {
    }
}
