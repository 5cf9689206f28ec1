using RaftToolkit.Core.Model;
using Xunit;

namespace RaftToolkit.Core.Tests.Model;

/// <summary>The peer lists a membership hands to the nodes on it.</summary>
public sealed class MembershipPeersTests
{
    [Fact]
    public void NodesOtherThanNamesEveryOtherVoterAndLearnerInIdOrder()
    {
        var membership = Membership.FromVoters([3, 1, 2], [7]);

        Assert.Equal([1UL, 3UL, 7UL], membership.NodesOtherThan(2));
        Assert.Equal([1UL, 2UL, 3UL, 7UL], membership.NodesOtherThan(9));
    }

    [Fact]
    public void NodesOtherThanSharesOneArrayBetweenCallersForTheSameNode()
    {
        var membership = Membership.FromVoters(1, 2, 3);

        var first = membership.NodesOtherThan(1);
        Assert.Same(first, membership.NodesOtherThan(1));

        var other = membership.NodesOtherThan(2);
        Assert.Equal([1UL, 3UL], other);
        Assert.Equal([2UL, 3UL], membership.NodesOtherThan(1));
    }
}
