using System.Buffers;
using CsCheck;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using Xunit;

namespace RaftToolkit.Core.Tests.Codec;

/// <summary>
/// Properties every toolkit type's encoding must have: it round-trips, and every damaged form
/// (truncated, wrong version, garbage appended, random bytes) is refused with a
/// <see cref="CodecException"/> of the right kind and never with another exception type.
/// CsCheck prints the seed of a failing case; set the CsCheck_Seed environment variable to it to replay.
/// </summary>
public sealed class WireCodecPropertyTests
{
    private const byte Version = 1;

    public static TheoryData<string> TypeNames => new(Codecs.Keys);

    private static readonly Dictionary<string, ICodecCase> Codecs = new()
    {
        ["LeaderId"] = new CodecCase<LeaderId>(ModelGenerators.LeaderId, ModelFormats.LeaderId),
        ["Vote"] = new CodecCase<Vote>(ModelGenerators.Vote, ModelFormats.Vote),
        ["LogId"] = new CodecCase<LogId>(ModelGenerators.LogId, ModelFormats.LogId),
        ["OptionalLogId"] = new CodecCase<LogId?>(ModelGenerators.OptionalLogId, ModelFormats.OptionalLogId),
        ["Membership"] = new CodecCase<Membership>(ModelGenerators.Membership, ModelFormats.Membership),
        ["StoredMembership"] = new CodecCase<StoredMembership>(ModelGenerators.StoredMembership, ModelFormats.StoredMembership),
        ["Entry"] = new CodecCase<Entry>(ModelGenerators.Entry, ModelFormats.Entry),
        ["LogState"] = new CodecCase<LogState>(ModelGenerators.LogState, ModelFormats.LogState),
        ["SnapshotMeta"] = new CodecCase<SnapshotMeta>(ModelGenerators.SnapshotMeta, ModelFormats.SnapshotMeta),
    };

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void EveryValueRoundTrips(string type) => Codecs[type].RoundTrips();

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void EveryTruncationIsRefusedAsEmptyOrTruncated(string type) => Codecs[type].TruncationsAreRefused();

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void AnyOtherVersionByteIsRefusedAsVersionMismatch(string type) => Codecs[type].WrongVersionIsRefused();

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void AppendedGarbageIsRefusedAsTrailingBytes(string type) => Codecs[type].TrailingBytesAreRefused();

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void RandomBytesDecodeOrFailOnlyWithCodecException(string type) => Codecs[type].RandomBytesFailTyped();

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void MultiSegmentFramesDecodeLikeContiguousOnes(string type) => Codecs[type].SequenceDecodes();

    [Fact]
    public void EmptyInputIsRefusedAsEmpty()
    {
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, ReadOnlySpan<byte>.Empty, ModelFormats.Vote));
        Assert.Equal(CodecErrorKind.Empty, error.Kind);
    }

    [Fact]
    public void VersionMismatchNamesExpectedAndActual()
    {
        var bytes = WireCodec.Encode(7, new LogId(1, 2, 3), ModelFormats.LogId);
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(9, bytes, ModelFormats.LogId));
        Assert.Equal(CodecErrorKind.VersionMismatch, error.Kind);
        Assert.Equal((byte)9, error.ExpectedVersion);
        Assert.Equal((byte)7, error.ActualVersion);
    }

    [Fact]
    public void UnknownEntryKindIsInvalid()
    {
        var bytes = WireCodec.Encode(Version, Entry.Blank(new LogId(1, 1, 1)), ModelFormats.Entry);
        bytes[1 + ModelFormats.LogIdSize] = 99;
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, bytes, ModelFormats.Entry));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void BooleanOtherThanZeroOrOneIsInvalid()
    {
        var bytes = WireCodec.Encode(Version, new Vote(new LeaderId(3, 4), true), ModelFormats.Vote);
        bytes[^1] = 2;
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, bytes, ModelFormats.Vote));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AJointMembershipWithAnEmptyVoterSetIsInvalid()
    {
        // Written as WriteMembership writes one: two voter sets, the second empty, and the node map.
        var output = new ArrayBufferWriter<byte>();
        WireWriter.WriteByte(output, Version);
        WireWriter.WriteByte(output, 2);
        WireWriter.WriteUInt32(output, 3);
        foreach (ulong voter in (ulong[])[1, 2, 3])
        {
            WireWriter.WriteUInt64(output, voter);
        }

        WireWriter.WriteUInt32(output, 0);
        WireWriter.WriteUInt32(output, 3);
        foreach (ulong node in (ulong[])[1, 2, 3])
        {
            WireWriter.WriteUInt64(output, node);
            WireWriter.WriteLengthPrefixed(output, []);
        }

        var shortened = output.WrittenSpan.ToArray();
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, shortened, ModelFormats.Membership));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AFrameLargerThanAnyValueIsRefusedAsInvalid()
    {
        // Two small segments, the second said to start 3 GiB in: a frame's length is its segments' word.
        var first = new Segment(new byte[] { Version, 0 }, 0);
        var last = first.Append(new byte[] { 0 }, startsAt: 3L << 30);
        var frame = new ReadOnlySequence<byte>(first, 0, last, 1);

        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, frame, ModelFormats.LogId));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void MembershipWithThreeVoterSetsIsInvalid()
    {
        var bytes = WireCodec.Encode(Version, Membership.FromVoters(1, 2, 3), ModelFormats.Membership);
        bytes[1] = 3;
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(Version, bytes, ModelFormats.Membership));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void EntrySizeIsTheExactEncodedLength()
    {
        ModelGenerators.Entry.Sample(entry =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            ModelFormats.WriteEntry(buffer, entry);
            return buffer.WrittenCount == ModelFormats.EntrySize(entry);
        });
    }

    private interface ICodecCase
    {
        void RoundTrips();

        void TruncationsAreRefused();

        void WrongVersionIsRefused();

        void TrailingBytesAreRefused();

        void RandomBytesFailTyped();

        void SequenceDecodes();
    }

    private sealed class CodecCase<T>(Gen<T> gen, IWireSerializer<T> serializer) : ICodecCase
    {
        public void RoundTrips() => gen.Sample(value =>
        {
            var decoded = WireCodec.Decode(Version, WireCodec.Encode(Version, value, serializer), serializer);
            Assert.Equal(value, decoded);
        });

        public void TruncationsAreRefused() => gen.Sample(value =>
        {
            var bytes = WireCodec.Encode(Version, value, serializer);
            for (int length = 0; length < bytes.Length; length++)
            {
                var error = DecodeFails(bytes.AsSpan(0, length).ToArray());
                var expected = length == 0 ? CodecErrorKind.Empty : CodecErrorKind.Truncated;
                Assert.True(error.Kind == expected, $"{length} of {bytes.Length} bytes gave {error.Kind}, expected {expected}: {error.Message}");
            }
        }, iter: 200);

        public void WrongVersionIsRefused() => Gen.Select(gen, Gen.Byte.Where(b => b != Version)).Sample((value, wrong) =>
        {
            var bytes = WireCodec.Encode(wrong, value, serializer);
            var error = DecodeFails(bytes);
            Assert.Equal(CodecErrorKind.VersionMismatch, error.Kind);
            Assert.Equal(Version, error.ExpectedVersion);
            Assert.Equal(wrong, error.ActualVersion);
        });

        public void TrailingBytesAreRefused() => Gen.Select(gen, Gen.Byte.Array[1, 16]).Sample((value, garbage) =>
        {
            var bytes = WireCodec.Encode(Version, value, serializer).Concat(garbage).ToArray();
            Assert.Equal(CodecErrorKind.TrailingBytes, DecodeFails(bytes).Kind);
        });

        public void RandomBytesFailTyped() => Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            try
            {
                WireCodec.Decode(Version, bytes, serializer);
            }
            catch (CodecException)
            {
                // The only acceptable failure.
            }
        }, iter: 2000);

        public void SequenceDecodes() => Gen.Select(gen, Gen.Int[0, 100]).Sample((value, cutPercent) =>
        {
            var bytes = WireCodec.Encode(Version, value, serializer);
            int cut = bytes.Length * cutPercent / 100;
            var sequence = TwoSegments(bytes.AsMemory(0, cut), bytes.AsMemory(cut));
            Assert.Equal(value, WireCodec.Decode(Version, sequence, serializer));
        });

        private CodecException DecodeFails(byte[] bytes)
        {
            try
            {
                var decoded = WireCodec.Decode(Version, bytes, serializer);
                throw new Xunit.Sdk.XunitException($"Decoding {Convert.ToHexString(bytes)} should fail but gave {decoded}.");
            }
            catch (CodecException error)
            {
                return error;
            }
        }
    }

    private static ReadOnlySequence<byte> TwoSegments(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second)
    {
        var head = new Segment(first, 0);
        var tail = head.Append(second);
        return new ReadOnlySequence<byte>(head, 0, tail, tail.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        /// <summary>Adds a segment after this one, starting where this one ends unless <paramref name="startsAt"/> says otherwise.</summary>
        public Segment Append(ReadOnlyMemory<byte> memory, long? startsAt = null)
        {
            var next = new Segment(memory, startsAt ?? RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
