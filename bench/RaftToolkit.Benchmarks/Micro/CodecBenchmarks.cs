using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Benchmarks.Micro;

/// <summary>
/// Encoding toolkit types into a reused pooled buffer must allocate nothing; decoding value
/// types must allocate nothing either (an entry's decode allocates only its payload copy).
/// </summary>
[Config(typeof(BenchConfig))]
[BenchmarkCategory("gate")]
public class CodecBenchmarks
{
    private const byte Version = 1;
    private readonly ArrayPoolBufferWriter<byte> _buffer = new(4096);
    private readonly Vote _vote = new(new LeaderId(42, 3), true);
    private readonly LogId _logId = new(42, 3, 1_000_000);
    private Entry _normal;
    private Entry _membershipEntry;
    private byte[] _encodedVote = [];
    private byte[] _encodedEntry = [];

    [GlobalSetup]
    public void Setup()
    {
        _normal = Entry.Normal(_logId, new byte[128]);
        _membershipEntry = Entry.ForMembership(_logId, Membership.FromVoters([1, 2, 3, 4, 5], [6, 7]));
        _encodedVote = WireCodec.Encode(Version, _vote, ModelFormats.Vote);
        _encodedEntry = WireCodec.Encode(Version, _normal, ModelFormats.Entry);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int EncodeVote()
    {
        _buffer.Clear();
        WireCodec.Encode(Version, _vote, ModelFormats.Vote, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int EncodeLogId()
    {
        _buffer.Clear();
        WireCodec.Encode(Version, _logId, ModelFormats.LogId, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int EncodeNormalEntry128B()
    {
        _buffer.Clear();
        ModelFormats.WriteEntry(_buffer, _normal);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public int EncodeMembershipEntry()
    {
        _buffer.Clear();
        ModelFormats.WriteEntry(_buffer, _membershipEntry);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public Vote DecodeVote() => WireCodec.Decode(Version, _encodedVote, ModelFormats.Vote);

    [Benchmark]
    public Entry DecodeNormalEntry128B() => WireCodec.Decode(Version, _encodedEntry, ModelFormats.Entry);
}
