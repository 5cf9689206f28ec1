namespace RaftToolkit.Core.Model;

/// <summary>What an entry carries.</summary>
public enum EntryKind : byte
{
    /// <summary>No payload: a new leader's first entry, or a heartbeat-like no-op.</summary>
    Blank = 0,

    /// <summary>Application data, serialized by the type configuration's AppData serializer.</summary>
    Normal = 1,

    /// <summary>A cluster configuration.</summary>
    Membership = 2,
}

/// <summary>
/// A log entry: its id and its payload (<see cref="EntryKind.Blank"/>,
/// <see cref="EntryKind.Normal"/> application bytes, or a <see cref="Model.Membership"/>).
/// </summary>
/// <remarks>
/// A value type so that batches of entries travel as <see cref="ReadOnlyMemory{T}"/> slices
/// without a heap object per entry. Application data stays in its serialized form: the Raft core
/// and the stores only move bytes; the type configuration decodes them at apply time.
/// </remarks>
public readonly struct Entry : IEquatable<Entry>
{
    private Entry(LogId logId, EntryKind kind, ReadOnlyMemory<byte> data, Membership? membership)
    {
        LogId = logId;
        Kind = kind;
        Data = data;
        Membership = membership;
    }

    /// <summary>A blank entry.</summary>
    public static Entry Blank(LogId logId) => new(logId, EntryKind.Blank, default, null);

    /// <summary>An entry carrying serialized application data.</summary>
    public static Entry Normal(LogId logId, ReadOnlyMemory<byte> data) => new(logId, EntryKind.Normal, data, null);

    /// <summary>An entry carrying a cluster configuration.</summary>
    public static Entry ForMembership(LogId logId, Membership membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        return new(logId, EntryKind.Membership, default, membership);
    }

    /// <summary>The entry's id.</summary>
    public LogId LogId { get; }

    /// <summary>The entry's index.</summary>
    public ulong Index => LogId.Index;

    /// <summary>What the entry carries.</summary>
    public EntryKind Kind { get; }

    /// <summary>Serialized application data; empty unless <see cref="Kind"/> is Normal.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The configuration; null unless <see cref="Kind"/> is Membership.</summary>
    public Membership? Membership { get; }

    /// <summary>Returns the same payload under another log id.</summary>
    public Entry WithLogId(LogId logId) => new(logId, Kind, Data, Membership);

    /// <inheritdoc />
    public bool Equals(Entry other) =>
        LogId == other.LogId
        && Kind == other.Kind
        && Data.Span.SequenceEqual(other.Data.Span)
        && Equals(Membership, other.Membership);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Entry other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(LogId, Kind, Data.Length);

    /// <summary>Structural equality.</summary>
    public static bool operator ==(Entry left, Entry right) => left.Equals(right);

    /// <summary>Structural inequality.</summary>
    public static bool operator !=(Entry left, Entry right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        EntryKind.Normal => $"{LogId}:normal[{Data.Length}]",
        EntryKind.Membership => $"{LogId}:membership({Membership})",
        _ => $"{LogId}:blank",
    };
}
