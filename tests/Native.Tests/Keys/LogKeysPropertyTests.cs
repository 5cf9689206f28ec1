using CsCheck;
using RaftToolkit.Native.Keys;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests.Keys;

/// <summary>
/// Properties of the on-disk key layout. CsCheck picks a random seed per run and prints it in
/// the failure message; replay a failure with RAFTKIT_SEED=&lt;seed&gt;.
/// </summary>
public sealed class LogKeysPropertyTests(ITestOutputHelper output)
{
    private static readonly string? Seed = Environment.GetEnvironmentVariable("RAFTKIT_SEED");

    /// <summary>Ids with many edge values (0, 1, max, byte boundaries) among random ones.</summary>
    private static readonly Gen<ulong> Id = Gen.Frequency(
        (3, Gen.ULong),
        (1, Gen.OneOf<ulong>(0UL, 1UL, 255UL, 256UL, (ulong)uint.MaxValue, ulong.MaxValue - 2, ulong.MaxValue)));

    private static readonly Gen<ulong> Index = Id.Select(i => Math.Min(i, LogKeys.EndIndex - 2));

    private static readonly Gen<MetaLabel> Label = Gen.Enum<MetaLabel>();

    private void Sample<T>(Gen<T> gen, Action<T> property)
    {
        output.WriteLine($"CsCheck seed: {Seed ?? "random (printed on failure)"}; replay with RAFTKIT_SEED=<seed>");
        gen.Sample(property, seed: Seed, iter: 20_000);
    }

    private static byte[] LogKey(LogKeySpace space, ulong group, ulong index)
    {
        var key = new byte[16];
        return key[..LogKeys.WriteLogKey(key, space, group, index)];
    }

    private static byte[] MetaKey(LogKeySpace space, ulong group, MetaLabel label)
    {
        var key = new byte[LogKeys.MaxKeyLength];
        return key[..LogKeys.WriteMetaKey(key, space, group, label)];
    }

    [Fact]
    public void GroupPrefixedLogKeysSortByGroupThenIndex() =>
        Sample(Gen.Select(Id, Index, Id, Index), t =>
        {
            var (g1, i1, g2, i2) = t;
            int byKey = Math.Sign(LogKey(LogKeySpace.GroupPrefixed, g1, i1).AsSpan().SequenceCompareTo(LogKey(LogKeySpace.GroupPrefixed, g2, i2)));
            int byTuple = Math.Sign(g1 != g2 ? g1.CompareTo(g2) : i1.CompareTo(i2));
            Assert.True(byKey == byTuple, $"({g1},{i1}) vs ({g2},{i2}): bytes order {byKey}, (group, index) order {byTuple}");
        });

    [Fact]
    public void FlatLogKeysSortByIndex() =>
        Sample(Gen.Select(Index, Index), t =>
        {
            var (i1, i2) = t;
            int byKey = Math.Sign(LogKey(LogKeySpace.Flat, 0, i1).AsSpan().SequenceCompareTo(LogKey(LogKeySpace.Flat, 0, i2)));
            Assert.Equal(Math.Sign(i1.CompareTo(i2)), byKey);
        });

    [Fact]
    public void AGroupsRangeHoldsAllItsKeysAndNoOtherGroupsKeys() =>
        Sample(Gen.Select(Id, Id, Index), t =>
        {
            var (group, other, index) = t;
            var start = LogKey(LogKeySpace.GroupPrefixed, group, 0);
            var end = LogKey(LogKeySpace.GroupPrefixed, group, LogKeys.EndIndex);
            bool Inside(byte[] key) => key.AsSpan().SequenceCompareTo(start) >= 0 && key.AsSpan().SequenceCompareTo(end) < 0;
            Assert.True(Inside(LogKey(LogKeySpace.GroupPrefixed, group, index)), $"group {group} index {index} outside its own range");
            if (other != group)
            {
                Assert.False(Inside(LogKey(LogKeySpace.GroupPrefixed, other, index)), $"group {other} index {index} inside group {group}'s range");
            }
        });

    [Fact]
    public void AGroupsMetaRangeHoldsItsMetaKeysAndNoOtherGroupsKeys() =>
        Sample(Gen.Select(Id, Id, Label), t =>
        {
            var (group, other, label) = t;
            var start = new byte[9];
            var end = new byte[9];
            LogKeys.WriteMetaRange(start, end, group);
            bool Inside(byte[] key) => key.AsSpan().SequenceCompareTo(start) >= 0 && key.AsSpan().SequenceCompareTo(end) < 0;
            Assert.True(Inside(MetaKey(LogKeySpace.GroupPrefixed, group, label)));
            if (other != group)
            {
                Assert.False(Inside(MetaKey(LogKeySpace.GroupPrefixed, other, label)), $"meta key of group {other} inside group {group}'s meta range");
            }
        });

    [Fact]
    public void MetaKeysNeverCollideWithLogKeys() =>
        Sample(Gen.Select(Id, Label, Id, Index), t =>
        {
            var (metaGroup, label, logGroup, index) = t;
            foreach (var space in (LogKeySpace[])[LogKeySpace.Flat, LogKeySpace.GroupPrefixed])
            {
                Assert.False(
                    MetaKey(space, metaGroup, label).AsSpan().SequenceEqual(LogKey(space, logGroup, index)),
                    $"{space}: meta key ({metaGroup}, {label}) equals log key ({logGroup}, {index})");
            }
        });

    [Fact]
    public void TheKeySpaceMarkerIsNoMetaKeyAndNoGroupsMetaRangeHoldsIt() =>
        Sample(Gen.Select(Id, Label), t =>
        {
            var (group, label) = t;
            var marker = LogKeys.KeySpaceMarkerKey;
            foreach (var space in (LogKeySpace[])[LogKeySpace.Flat, LogKeySpace.GroupPrefixed])
            {
                Assert.False(marker.SequenceEqual(MetaKey(space, group, label)), $"{space}: the marker equals meta key ({group}, {label})");
            }

            var start = new byte[9];
            var end = new byte[9];
            LogKeys.WriteMetaRange(start, end, group);
            Assert.True(marker.SequenceCompareTo(start) < 0, $"the marker falls inside group {group}'s meta range");
            Assert.True(marker.Length < sizeof(ulong), "a scan for group ids would read the marker as a group");
        });

    /// <summary>What a verification takes for a meta key: every key the store writes, and no key one byte longer or shorter.</summary>
    [Fact]
    public void EveryMetaKeyReadsBackAsItsLabelAndNoKeyOneByteOff() =>
        Sample(Gen.Select(Id, Label), t =>
        {
            var (group, label) = t;
            foreach (var space in (LogKeySpace[])[LogKeySpace.Flat, LogKeySpace.GroupPrefixed])
            {
                var key = MetaKey(space, group, label);
                Assert.True(LogKeys.TryReadMetaLabel(key, space, out var read) && read == label, $"{space}: meta key ({group}, {label}) does not read back");
                Assert.False(LogKeys.TryReadMetaLabel(key[..^1], space, out _), $"{space}: meta key ({group}, {label}) less its last byte reads as a meta key");
                Assert.False(LogKeys.TryReadMetaLabel([.. key, 0], space, out _), $"{space}: meta key ({group}, {label}) and a zero byte reads as a meta key");
            }

            Assert.False(LogKeys.TryReadMetaLabel(LogKeys.KeySpaceMarkerKey, LogKeySpace.Flat, out _), "the key-space marker reads as a meta key");
        });

    [Fact]
    public void KeysAreLaidOutByteForByteAsDesigned()
    {
        Assert.Equal(Convert.FromHexString("0000000000000102"), LogKey(LogKeySpace.Flat, 99, 0x0102));
        Assert.Equal(Convert.FromHexString("00000000000000090000000000000102"), LogKey(LogKeySpace.GroupPrefixed, 9, 0x0102));
        Assert.Equal("vote"u8.ToArray(), MetaKey(LogKeySpace.Flat, 9, MetaLabel.Vote));
        Assert.Equal("committed"u8.ToArray(), MetaKey(LogKeySpace.Flat, 9, MetaLabel.Committed));
        Assert.Equal("last_purged"u8.ToArray(), MetaKey(LogKeySpace.Flat, 9, MetaLabel.LastPurged));
        Assert.Equal([.. Convert.FromHexString("0000000000000009"), (byte)'/', .. "vote"u8], MetaKey(LogKeySpace.GroupPrefixed, 9, MetaLabel.Vote));
        Assert.Equal([.. Convert.FromHexString("0000000000000009"), (byte)'/', .. "last_purged"u8], MetaKey(LogKeySpace.GroupPrefixed, 9, MetaLabel.LastPurged));
    }
}
