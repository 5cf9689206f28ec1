using System.Buffers;
using CsCheck;
using RaftToolkit.Core.Codec;
using Xunit;

namespace RaftToolkit.Core.Tests.Codec;

/// <summary>
/// The variable-length unsigned integer (LEB128) of <see cref="WireWriter.WriteVarUInt64(IBufferWriter{byte}, ulong)"/> (and its span form) and
/// <see cref="WireReader.ReadVarUInt64"/>. CsCheck prints the seed of a failing case; set the
/// CsCheck_Seed environment variable to it to replay.
/// </summary>
public sealed class VarUInt64Tests
{
    private static byte[] Encode(ulong value)
    {
        var output = new ArrayBufferWriter<byte>();
        WireWriter.WriteVarUInt64(output, value);
        return output.WrittenSpan.ToArray();
    }

    private static ulong Decode(byte[] bytes, out int consumed)
    {
        var reader = new WireReader(bytes);
        ulong value = reader.ReadVarUInt64();
        consumed = reader.Consumed;
        return value;
    }

    [Fact]
    public void EveryValueRoundTripsInTheSizeItsSizeFunctionStates()
    {
        Gen.Frequency((1, Gen.ULong), (1, Gen.ULong[0, 1UL << 21]), (1, Gen.Int[0, 63].Select(bit => 1UL << bit)))
            .Sample(value =>
            {
                var bytes = Encode(value);
                Assert.Equal(WireWriter.VarUInt64Size(value), bytes.Length);
                Span<byte> span = stackalloc byte[WireWriter.MaxVarUInt64Length];
                Assert.Equal(bytes, span[..WireWriter.WriteVarUInt64(span, value)].ToArray());
                Assert.Equal(value, Decode(bytes, out int consumed));
                Assert.Equal(bytes.Length, consumed);
            });
    }

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7F")]
    [InlineData(128UL, "8001")]
    [InlineData(300UL, "AC02")]
    [InlineData(16_383UL, "FF7F")]
    [InlineData(16_384UL, "808001")]
    [InlineData(ulong.MaxValue, "FFFFFFFFFFFFFFFFFF01")]
    public void ValuesAreWrittenSevenBitsAByteLowBitsFirst(ulong value, string hex) =>
        Assert.Equal(hex, Convert.ToHexString(Encode(value)));

    [Fact]
    public void SmallValuesTakeOneByteAndTheLargestTakeTen()
    {
        Assert.Equal(1, WireWriter.VarUInt64Size(0));
        Assert.Equal(1, WireWriter.VarUInt64Size(127));
        Assert.Equal(2, WireWriter.VarUInt64Size(128));
        Assert.Equal(9, WireWriter.VarUInt64Size((1UL << 63) - 1));
        Assert.Equal(WireWriter.MaxVarUInt64Length, WireWriter.VarUInt64Size(1UL << 63));
        Assert.Equal(WireWriter.MaxVarUInt64Length, WireWriter.VarUInt64Size(ulong.MaxValue));
    }

    [Fact]
    public void AValueCutShortIsRefusedAsTruncated()
    {
        var bytes = Encode(ulong.MaxValue);
        for (int length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<CodecException>(() => Decode(bytes[..length], out _));
            Assert.Equal(CodecErrorKind.Truncated, error.Kind);
        }
    }

    [Fact]
    public void ATenthByteCarryingMoreThanBit63IsRefusedAsInvalid()
    {
        var bytes = Convert.FromHexString("FFFFFFFFFFFFFFFFFF02");
        var error = Assert.Throws<CodecException>(() => Decode(bytes, out _));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AValueRunningPastTenBytesIsRefusedAsInvalid()
    {
        var bytes = Convert.FromHexString("8080808080808080808000");
        var error = Assert.Throws<CodecException>(() => Decode(bytes, out _));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void APaddedFormReadsAsItsValue() => Assert.Equal(5UL, Decode(Convert.FromHexString("8500"), out _));
}
