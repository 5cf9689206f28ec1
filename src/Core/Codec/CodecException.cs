namespace RaftToolkit.Core.Codec;

/// <summary>Why bytes could not be decoded.</summary>
public enum CodecErrorKind
{
    /// <summary>No bytes at all: not even the version byte.</summary>
    Empty,

    /// <summary>The version byte is not the one expected.</summary>
    VersionMismatch,

    /// <summary>The payload ends before the value does.</summary>
    Truncated,

    /// <summary>Bytes are left after the value.</summary>
    TrailingBytes,

    /// <summary>The bytes are complete but do not form a valid value (an unknown tag, an impossible count).</summary>
    Invalid,
}

/// <summary>Bytes could not be decoded. <see cref="Kind"/> says why; nothing was produced.</summary>
public sealed class CodecException : Exception
{
    /// <summary>Creates a codec error of <paramref name="kind"/>.</summary>
    public CodecException(CodecErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    private CodecException(byte expected, byte actual)
        : base($"Format version mismatch: expected {expected}, found {actual}.")
    {
        Kind = CodecErrorKind.VersionMismatch;
        ExpectedVersion = expected;
        ActualVersion = actual;
    }

    /// <summary>Why decoding failed.</summary>
    public CodecErrorKind Kind { get; }

    /// <summary>The version the reader expected (VersionMismatch only).</summary>
    public byte? ExpectedVersion { get; }

    /// <summary>The version found in the bytes (VersionMismatch only).</summary>
    public byte? ActualVersion { get; }

    /// <summary>A version mismatch between what the reader expects and what the bytes carry.</summary>
    public static CodecException VersionMismatch(byte expected, byte actual) => new(expected, actual);
}
