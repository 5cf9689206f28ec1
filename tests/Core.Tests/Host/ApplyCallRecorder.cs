using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// Records how a host calls one state machine's apply: the entries in the order applied, and the
/// most applies in progress at once. A host promises one apply at a time, in log order.
/// </summary>
internal sealed class ApplyCallRecorder
{
    private readonly Lock _gate = new();
    private readonly List<ulong> _applied = [];
    private int _inApply;
    private int _mostAtOnce;
    private ulong? _lastIndex;
    private string? _outOfOrder;

    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    public ulong[] AppliedIndexes
    {
        get
        {
            lock (_gate)
            {
                return [.. _applied];
            }
        }
    }

    /// <summary>True when no two applies overlapped and every entry came after the one before it.</summary>
    public bool InOrderOneAtATime
    {
        get
        {
            lock (_gate)
            {
                return MostAtOnce <= 1 && _outOfOrder is null;
            }
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return $"{MostAtOnce} applies at once{(_outOfOrder is null ? "" : ", " + _outOfOrder)}";
        }
    }

    /// <summary>An apply begins: it counts as in progress until the returned scope is disposed.</summary>
    public InApply Enter()
    {
        int now = Interlocked.Increment(ref _inApply);
        int seen;
        while ((seen = Volatile.Read(ref _mostAtOnce)) < now && Interlocked.CompareExchange(ref _mostAtOnce, now, seen) != seen)
        {
        }

        return new InApply(this);
    }

    /// <summary>Notes the entries an apply is applying, in order.</summary>
    public void Applying(ReadOnlySpan<ApplyItem<KvResponse>> items)
    {
        lock (_gate)
        {
            foreach (var item in items)
            {
                if (_lastIndex is { } last && item.Entry.Index <= last)
                {
                    _outOfOrder ??= $"entry {item.Entry.Index} applied after {last}";
                }

                _lastIndex = item.Entry.Index;
                _applied.Add(item.Entry.Index);
            }
        }
    }

    /// <summary>A snapshot replaced the state: the next apply starts past its last entry.</summary>
    public void Installed(LogId? last)
    {
        lock (_gate)
        {
            _lastIndex = last?.Index;
        }
    }

    public readonly struct InApply(ApplyCallRecorder recorder) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref recorder._inApply);
    }
}
