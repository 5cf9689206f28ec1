using RaftToolkit.Core.Model;

namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// The state machine of one simulated node: applies committed entries, and turns its state
/// into snapshot bytes and back. A crash loses it; a restart creates a new one and restores
/// the node's durable snapshot into it.
/// </summary>
public interface ISimulatedStateMachine
{
    /// <summary>Applies one committed entry (every replica applies the same sequence).</summary>
    void Apply(in Entry entry);

    /// <summary>The state so far as snapshot bytes.</summary>
    byte[] TakeSnapshot();

    /// <summary>Replaces the state with the one <paramref name="snapshot"/> describes.</summary>
    void Restore(ReadOnlySpan<byte> snapshot);
}

/// <summary>
/// The default simulated state machine: a digest of every applied entry (count and a running
/// hash of ids and payloads), so equal snapshots mean equal applied prefixes.
/// </summary>
public sealed class AppliedDigestStateMachine : ISimulatedStateMachine
{
    private ulong _count;
    private ulong _hash = 14695981039346656037UL;

    /// <inheritdoc />
    public void Apply(in Entry entry)
    {
        _count++;
        Mix(entry.LogId.Term);
        Mix(entry.LogId.LeaderId.NodeId);
        Mix(entry.Index);
        foreach (byte b in entry.Data.Span)
        {
            Mix(b);
        }
    }

    /// <inheritdoc />
    public byte[] TakeSnapshot()
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), _count);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 8), _hash);
        return bytes;
    }

    /// <inheritdoc />
    public void Restore(ReadOnlySpan<byte> snapshot)
    {
        if (snapshot.Length != 16)
        {
            throw new ArgumentException($"A digest snapshot is 16 bytes, got {snapshot.Length}.", nameof(snapshot));
        }

        _count = BitConverter.ToUInt64(snapshot[..8]);
        _hash = BitConverter.ToUInt64(snapshot[8..]);
    }

    private void Mix(ulong value)
    {
        _hash ^= value;
        _hash *= 1099511628211UL;
    }
}
