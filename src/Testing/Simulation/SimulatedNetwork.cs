using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// A seeded, single-threaded network between simulated nodes. Each message is dropped,
/// duplicated and delayed by a random number of ticks (which also reorders messages) according
/// to the fault rates; directed links can be cut (one-way), nodes isolated and the cluster
/// partitioned. Delivery order is fully determined by the seed.
/// </summary>
public sealed class SimulatedNetwork
{
    private readonly Random _random;
    private readonly PriorityQueue<RaftMessage, (long DeliverAt, long Sequence)> _inFlight = new();
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private long _sequence;

    /// <summary>Creates a network whose randomness comes from <paramref name="seed"/>.</summary>
    public SimulatedNetwork(int seed)
    {
        _random = new Random(seed);
    }

    /// <summary>Probability in [0, 1] that a message is lost.</summary>
    public double DropRate { get; set; }

    /// <summary>Probability in [0, 1] that a message is delivered twice.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>The smallest delay in ticks (0 delivers within the same step).</summary>
    public int MinDelay { get; set; }

    /// <summary>The largest delay in ticks; a spread between min and max reorders messages.</summary>
    public int MaxDelay { get; set; }

    /// <summary>Messages sent so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Messages lost to drops and cuts so far.</summary>
    public long Dropped { get; private set; }

    /// <summary>Messages waiting for delivery.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Sends <paramref name="message"/> at tick <paramref name="now"/>.</summary>
    public void Send(RaftMessage message, long now)
    {
        ArgumentNullException.ThrowIfNull(message);
        Sent++;
        if (IsCut(message.From, message.To) || (DropRate > 0 && _random.NextDouble() < DropRate))
        {
            Dropped++;
            return;
        }

        Enqueue(message, now);
        if (DuplicateRate > 0 && _random.NextDouble() < DuplicateRate)
        {
            Enqueue(message, now);
        }
    }

    /// <summary>Moves every message due at or before <paramref name="now"/> into <paramref name="due"/>, in delivery order.</summary>
    public void CollectDue(long now, List<RaftMessage> due)
    {
        ArgumentNullException.ThrowIfNull(due);
        while (_inFlight.TryPeek(out var message, out var at) && at.DeliverAt <= now)
        {
            _inFlight.Dequeue();

            // A link cut after sending still loses what is on the wire.
            if (IsCut(message.From, message.To))
            {
                Dropped++;
                continue;
            }

            due.Add(message);
        }
    }

    /// <summary>True when messages from <paramref name="from"/> to <paramref name="to"/> are lost.</summary>
    public bool IsCut(ulong from, ulong to) => _cut.Contains((from, to));

    /// <summary>Loses every message from <paramref name="from"/> to <paramref name="to"/> (one way).</summary>
    public void Cut(ulong from, ulong to) => _cut.Add((from, to));

    /// <summary>Restores the link from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public void Restore(ulong from, ulong to) => _cut.Remove((from, to));

    /// <summary>Cuts <paramref name="node"/> off from every node in <paramref name="others"/>, both ways.</summary>
    public void Isolate(ulong node, IEnumerable<ulong> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        foreach (var other in others)
        {
            if (other != node)
            {
                Cut(node, other);
                Cut(other, node);
            }
        }
    }

    /// <summary>Splits the nodes into groups that cannot reach each other (both ways); links inside a group are kept.</summary>
    public void Partition(IReadOnlyList<IReadOnlyList<ulong>> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        for (int a = 0; a < groups.Count; a++)
        {
            for (int b = 0; b < groups.Count; b++)
            {
                if (a == b)
                {
                    continue;
                }

                foreach (var x in groups[a])
                {
                    foreach (var y in groups[b])
                    {
                        Cut(x, y);
                    }
                }
            }
        }
    }

    /// <summary>Restores every link.</summary>
    public void HealAll() => _cut.Clear();

    /// <summary>Drops every message on the wire.</summary>
    public void Clear() => _inFlight.Clear();

    private void Enqueue(RaftMessage message, long now)
    {
        int delay = MaxDelay > MinDelay ? _random.Next(MinDelay, MaxDelay + 1) : MinDelay;
        _inFlight.Enqueue(message, (now + delay, _sequence++));
    }
}
