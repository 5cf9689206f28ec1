using System.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Types;
using Xunit;

namespace RaftToolkit.Core.Tests.Model;

/// <summary>Invalid memberships and undecodable application data are refused with a clear, typed error.</summary>
public sealed class MembershipAndTypeConfigTests
{
    [Fact]
    public void ANodeBothVoterAndLearnerIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Membership.FromVoters([1, 2, 3], [3, 4]));

        Assert.Contains("Node 3 is both a voter and a learner", error.Message, StringComparison.Ordinal);
        Assert.Equal([4UL], Membership.FromVoters([1, 2, 3], [4]).Learners);
    }

    [Fact]
    public void AJointMembershipNeedsAVoterInBothSets()
    {
        Assert.Throws<ArgumentException>(() => Membership.Create([[1, 2, 3], []]));
        Assert.Throws<ArgumentException>(() => Membership.Create([[], [1]]));
        Assert.True(Membership.Create([[1, 2, 3], [3, 4]]).IsJoint);
    }

    /// <summary>An application serializer that throws its own error type for bad bytes still surfaces as the codec's.</summary>
    [Fact]
    public void AnApplicationSerializersOwnErrorSurfacesAsACodecException()
    {
        var types = new StrictTypes();

        Assert.IsType<FormatException>(Assert.Throws<CodecException>(() => types.DecodeData([1, 2])).InnerException);
        Assert.IsType<FormatException>(Assert.Throws<CodecException>(() => types.DecodeNode([1])).InnerException);
        Assert.IsType<FormatException>(Assert.Throws<CodecException>(() => types.DecodeSnapshot([1])).InnerException);
    }

    private sealed class StrictTypes : RaftTypeConfig<string, string, string, string>
    {
        public override IWireSerializer<string> Node => Refusing.Instance;

        public override IWireSerializer<string> AppData => Refusing.Instance;

        public override IWireSerializer<string> AppDataResponse => Refusing.Instance;

        public override IWireSerializer<string> SnapshotData => Refusing.Instance;
    }

    /// <summary>A serializer whose reader refuses every input with a FormatException, as a parser of its own might.</summary>
    private sealed class Refusing : IWireSerializer<string>
    {
        public static Refusing Instance { get; } = new();

        public void Write(IBufferWriter<byte> output, string value) => WireWriter.WriteLengthPrefixed(output, System.Text.Encoding.UTF8.GetBytes(value));

        public string Read(ref WireReader reader) => throw new FormatException("not a value of this application");
    }
}
