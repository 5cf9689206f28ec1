using RaftToolkit.Core.Model;
using Xunit;

namespace RaftToolkit.Core.Tests.Model;

/// <summary>Equality and ordering of the data model, as openraft defines them (advanced mode).</summary>
public sealed class OrderingTests
{
    [Fact]
    public void LeaderIdsOrderByTermThenNode()
    {
        Assert.True(new LeaderId(1, 9) < new LeaderId(2, 0));
        Assert.True(new LeaderId(2, 1) < new LeaderId(2, 3));
        Assert.Equal(0, new LeaderId(2, 3).CompareTo(new LeaderId(2, 3)));
    }

    [Fact]
    public void CommittedVoteIsGreaterThanUncommittedVoteForTheSameLeader()
    {
        var vote = new Vote(5, 2);
        Assert.True(vote.Commit() > vote);
        Assert.True(new Vote(6, 1) > vote.Commit());
    }

    [Fact]
    public void LogIdsOrderByLeaderThenIndex()
    {
        Assert.True(new LogId(1, 0, 100) < new LogId(2, 0, 1));
        Assert.True(new LogId(2, 0, 1) < new LogId(2, 0, 2));
        Assert.True(new LogId(2, 0, 5) < new LogId(2, 1, 1));
    }

    [Fact]
    public void NoLogIdSortsBeforeEveryLogId()
    {
        Assert.True(LogIds.Compare(null, new LogId(0, 0, 0)) < 0);
        Assert.Equal(0, LogIds.Compare(null, null));
        Assert.Equal(new LogId(1, 0, 1), LogIds.Max(null, new LogId(1, 0, 1)));
        Assert.Equal(0UL, ((LogId?)null).NextIndex());
        Assert.Equal(8UL, ((LogId?)new LogId(1, 0, 7)).NextIndex());
    }

    [Fact]
    public void MembershipEqualityIsStructural()
    {
        var a = Membership.Create([new ulong[] { 3, 1, 2 }]);
        var b = Membership.Create([new ulong[] { 1, 2, 3 }]);
        Assert.Equal(a, b);
        Assert.NotEqual(a, Membership.FromVoters(1, 2));
        Assert.NotEqual(a, Membership.FromVoters([1, 2, 3], [4]));
    }

    [Fact]
    public void LearnersAreMembersInNoVoterSet()
    {
        var membership = Membership.FromVoters([1, 2, 3], [4, 5]);
        Assert.Equal([4UL, 5UL], membership.Learners);
        Assert.True(membership.IsVoter(2));
        Assert.False(membership.IsVoter(4));
        Assert.True(membership.Contains(4));
    }

    [Fact]
    public void JointMembershipNeedsAMajorityOfBothVoterSets()
    {
        var joint = Membership.Create([new ulong[] { 1, 2, 3 }, new ulong[] { 3, 4, 5 }]);
        Assert.True(joint.IsJoint);
        Assert.False(joint.IsQuorum([1, 2]));
        Assert.False(joint.IsQuorum([4, 5]));
        Assert.True(joint.IsQuorum([1, 2, 4, 5]));
        Assert.True(joint.IsQuorum([2, 3, 4]));
    }

    [Fact]
    public void QuorumIndexIsTheSmallerMajorityOfAJointConfiguration()
    {
        var joint = Membership.Create([new ulong[] { 1, 2, 3 }, new ulong[] { 4, 5, 6 }]);
        var matched = new MatchedIndexes(new() { [1] = 10, [2] = 8, [3] = 2, [4] = 5, [5] = 6, [6] = 1 });
        Assert.Equal(5UL, joint.QuorumIndex(matched));
        Assert.Equal(8UL, Membership.FromVoters(1, 2, 3).QuorumIndex(matched));
        Assert.Equal(5UL, Membership.FromVoters(1, 2, 3, 4).QuorumIndex(matched));
    }

    [Fact]
    public void InvalidMembershipsAreRefusedWithAClearMessage()
    {
        Assert.Contains("one voter set", Assert.Throws<ArgumentException>(() => Membership.Create([])).Message);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => Membership.FromVoters(1, 1)).Message);
        Assert.Throws<ArgumentException>(() => Membership.Create([new ulong[] { 1 }, new ulong[] { 2 }, new ulong[] { 3 }]));
    }

    private readonly struct MatchedIndexes(Dictionary<ulong, ulong> byNode) : IMatchedIndexSource
    {
        public ulong MatchedIndex(ulong nodeId) => byNode.GetValueOrDefault(nodeId);
    }
}
