using System.Numerics;

namespace RaftToolkit.Testing.Linearizability;

/// <summary>The checker's verdict.</summary>
public enum LinearizabilityVerdict
{
    /// <summary>A linearization exists for every partition.</summary>
    Linearizable,

    /// <summary>Some partition has no linearization.</summary>
    NotLinearizable,

    /// <summary>The search budget ran out before a verdict.</summary>
    Unknown,
}

/// <summary>The outcome of a check, with the operations of the first failing partition.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="FailedPartition">The operations of a partition with no linearization (or whose search ran out), else empty.</param>
public sealed record LinearizabilityResult<TInput, TOutput>(LinearizabilityVerdict Verdict, IReadOnlyList<Operation<TInput, TOutput>> FailedPartition)
{
    /// <summary>True for <see cref="LinearizabilityVerdict.Linearizable"/>.</summary>
    public bool IsLinearizable => Verdict == LinearizabilityVerdict.Linearizable;

    /// <summary>A readable account of the failing partition, for test failure messages.</summary>
    public string Describe() => Verdict == LinearizabilityVerdict.Linearizable
        ? "linearizable"
        : $"{Verdict}; operations of the failing partition:{Environment.NewLine}  "
          + string.Join(Environment.NewLine + "  ", FailedPartition.OrderBy(o => o.CallTime));
}

/// <summary>
/// Decides whether a concurrent history is linearizable: the Wing–Gong search with Lowe's
/// memoization of (linearized set, state), run per partition, as Porcupine does. Ambiguous
/// operations never return, so they may be linearized anywhere after their call — or, in
/// effect, not at all, by being placed after every other operation.
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>Checks <paramref name="history"/> against <paramref name="model"/>.</summary>
    /// <param name="model">The sequential specification.</param>
    /// <param name="history">Every operation that was issued.</param>
    /// <param name="maxStepsPerPartition">A search budget per partition; past it the verdict is Unknown.</param>
    public static LinearizabilityResult<TInput, TOutput> Check<TState, TInput, TOutput>(
        ILinearizabilityModel<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> history,
        long maxStepsPerPartition = 10_000_000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxStepsPerPartition);
        foreach (var partition in model.Partition(history))
        {
            var verdict = CheckPartition(model, partition, maxStepsPerPartition);
            if (verdict != LinearizabilityVerdict.Linearizable)
            {
                return new(verdict, partition);
            }
        }

        return new(LinearizabilityVerdict.Linearizable, []);
    }

    private static LinearizabilityVerdict CheckPartition<TState, TInput, TOutput>(
        ILinearizabilityModel<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> operations,
        long maxSteps)
    {
        var head = EventList.Build(operations);
        var linearized = new Bitset(operations.Count);
        var cache = new Dictionary<Bitset, List<TState>>();
        var calls = new Stack<(Node Call, TState StateBefore)>();
        var state = model.Initial;
        var node = head.Next;
        long steps = 0;

        while (head.Next is not null)
        {
            if (++steps > maxSteps)
            {
                return LinearizabilityVerdict.Unknown;
            }

            if (node!.IsCall)
            {
                var op = operations[node.Id];
                if (model.Step(state, op.Input, op.Output, !op.IsAmbiguous, out var next))
                {
                    var candidate = linearized.With(node.Id);
                    if (AddToCache(cache, candidate, next, model.StateComparer))
                    {
                        calls.Push((node, state));
                        state = next;
                        linearized = candidate;
                        node.Lift();
                        node = head.Next;
                        continue;
                    }
                }

                node = node.Next;
            }
            else
            {
                // A return whose call is not linearized yet: backtrack to the last choice.
                if (calls.Count == 0)
                {
                    return LinearizabilityVerdict.NotLinearizable;
                }

                var (call, before) = calls.Pop();
                state = before;
                linearized = linearized.Without(call.Id);
                call.Unlift();
                node = call.Next;
            }
        }

        return LinearizabilityVerdict.Linearizable;
    }

    private static bool AddToCache<TState>(Dictionary<Bitset, List<TState>> cache, Bitset linearized, TState state, IEqualityComparer<TState> comparer)
    {
        if (!cache.TryGetValue(linearized, out var states))
        {
            cache[linearized] = [state];
            return true;
        }

        foreach (var seen in states)
        {
            if (comparer.Equals(seen, state))
            {
                return false;
            }
        }

        states.Add(state);
        return true;
    }

    /// <summary>A call or return event in the doubly linked list the search lifts operations out of.</summary>
    private sealed class Node
    {
        public int Id;
        public bool IsCall;
        public Node? Match; // a call's return event
        public Node? Prev;
        public Node? Next;

        /// <summary>Removes this call and its return from the list (the operation is linearized).</summary>
        public void Lift()
        {
            Prev!.Next = Next;
            if (Next is not null)
            {
                Next.Prev = Prev;
            }

            var match = Match!;
            match.Prev!.Next = match.Next;
            if (match.Next is not null)
            {
                match.Next.Prev = match.Prev;
            }
        }

        /// <summary>Puts this call and its return back where they were (undoes <see cref="Lift"/>).</summary>
        public void Unlift()
        {
            var match = Match!;
            match.Prev!.Next = match;
            if (match.Next is not null)
            {
                match.Next.Prev = match;
            }

            Prev!.Next = this;
            if (Next is not null)
            {
                Next.Prev = this;
            }
        }
    }

    private static class EventList
    {
        /// <summary>Events sorted by time; at equal times calls come first, so touching operations count as concurrent.</summary>
        public static Node Build<TInput, TOutput>(IReadOnlyList<Operation<TInput, TOutput>> operations)
        {
            var events = new List<(long Time, bool IsCall, int Id)>(operations.Count * 2);
            for (int i = 0; i < operations.Count; i++)
            {
                events.Add((operations[i].CallTime, true, i));
                events.Add((operations[i].ReturnTime, false, i));
            }

            events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : b.IsCall.CompareTo(a.IsCall));
            var head = new Node { Id = -1 };
            var calls = new Node[operations.Count];
            var tail = head;
            foreach (var (_, isCall, id) in events)
            {
                var node = new Node { Id = id, IsCall = isCall, Prev = tail };
                tail.Next = node;
                tail = node;
                if (isCall)
                {
                    calls[id] = node;
                }
                else
                {
                    calls[id].Match = node;
                }
            }

            return head;
        }
    }

    /// <summary>An immutable set of operation ids with value equality, the memoization key.</summary>
    private readonly struct Bitset : IEquatable<Bitset>
    {
        private readonly ulong[] _words;

        public Bitset(int size) => _words = new ulong[(size + 63) / 64];

        private Bitset(ulong[] words) => _words = words;

        public Bitset With(int id)
        {
            var words = (ulong[])_words.Clone();
            words[id >> 6] |= 1UL << (id & 63);
            return new Bitset(words);
        }

        public Bitset Without(int id)
        {
            var words = (ulong[])_words.Clone();
            words[id >> 6] &= ~(1UL << (id & 63));
            return new Bitset(words);
        }

        public bool Equals(Bitset other) => _words.AsSpan().SequenceEqual(other._words);

        public override bool Equals(object? obj) => obj is Bitset other && Equals(other);

        public override int GetHashCode()
        {
            ulong hash = 0;
            foreach (var word in _words)
            {
                hash = BitOperations.RotateLeft(hash, 7) ^ word;
            }

            return hash.GetHashCode();
        }
    }
}
