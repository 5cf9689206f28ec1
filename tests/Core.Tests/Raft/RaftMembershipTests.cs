using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using Xunit;
using static RaftToolkit.Core.Tests.Raft.ClusterScenarios;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Joint-consensus membership changes: the configuration comes from the log, both majorities count while joint, one change at a time.</summary>
public sealed class RaftMembershipTests
{
    [Fact]
    public void AddingAVoterGoesThroughAJointConfigurationThatTheLeaderLeavesOnItsOwn()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);

        var result = leader.ProposeMembershipChange(MembershipChange.AddVoters(4));

        Assert.Equal(MembershipChangeStatus.Accepted, result.Status);
        Assert.True(result.Membership!.IsJoint, "A change of voters must start with a joint configuration.");
        Assert.Equal(new ulong[] { 1, 2, 3 }, result.Membership.Configs[0].ToArray());
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, result.Membership.Configs[1].ToArray());
        Assert.Equal(result.Membership, leader.Membership);

        leader = RunUntilSettledMembership(cluster);
        Assert.False(leader.Membership.IsJoint);
        Assert.Equal([1UL, 2, 3, 4], leader.Membership.Voters.ToArray());
        Assert.True(leader.EffectiveMembership.LogId!.Value.Index > result.LogId.Index, "The uniform configuration must follow the joint entry in the log.");
        Assert.Equal(RaftRole.Follower, cluster.Node(4)!.Role);
    }

    [Fact]
    public void AJointEntryDoesNotCommitWithoutAMajorityOfTheOldVoters()
    {
        var (cluster, leader) = Started(voters: 3, spares: 2);
        var oldFollowers = new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id).ToArray();
        foreach (var id in oldFollowers)
        {
            cluster.Network.Isolate(id, cluster.NodeIds);
        }

        var result = leader.ProposeMembershipChange(MembershipChange.AddVoters(4, 5));
        cluster.Run(5 * ElectionTicks);

        // The new voter set {1,2,3,4,5} has a majority (leader, 4, 5), the old one {1,2,3} does not.
        Assert.True(cluster.Node(4)!.TryGetLogId(result.LogId.Index, out _), "The new voters must have received the joint entry.");
        Assert.True(leader.Committed!.Value.Index < result.LogId.Index, $"The joint entry committed without the old majority: {leader}");

        cluster.Network.HealAll();
        RunUntilSettledMembership(cluster);
    }

    /// <summary>
    /// Whether a change of voters keeps the removed ones as learners is its leader's to say, and
    /// is not in the log. A leader that takes over while the group is joint leaves the joint
    /// configuration keeping them as learners: a change that asked to retain one gets what it
    /// asked, and one that did not gets a learner too many, which its host reports (not a node
    /// dropped against the request).
    /// </summary>
    [Fact]
    public void ALeaderThatTakesOverAJointConfigurationKeepsTheRemovedVotersAsLearners()
    {
        var (cluster, leader) = Started(voters: 3);
        ulong old = leader.Id;
        var others = new ulong[] { 1, 2, 3 }.Where(id => id != old).ToArray();
        ulong removed = others[0], kept = others[1];

        // The followers take the joint entry, but their answers never reach its leader.
        foreach (var id in others)
        {
            cluster.Network.Cut(id, old);
        }

        var result = leader.ProposeMembershipChange(MembershipChange.RemoveVoters(removed).WithRetain(true));
        Assert.True(result.IsAccepted);
        Assert.True(cluster.RunUntil(c => others.All(id => c.Node(id)!.TryGetLogId(result.LogId.Index, out var at) && at == result.LogId), 5 * ElectionTicks) >= 0, cluster.Describe());

        // Its leader goes away before it can leave the joint configuration it proposed.
        cluster.Crash(old);
        cluster.Network.HealAll();
        cluster.Restart(old);

        var settled = RunUntilSettledMembership(cluster);
        Assert.Equal(new[] { old, kept }.Order(), settled.Membership.Voters);
        Assert.Equal([removed], settled.Membership.Learners);
    }

    [Fact]
    public void AJointEntryDoesNotCommitWithoutAMajorityOfTheNewVoters()
    {
        var (cluster, leader) = Started(voters: 3, spares: 3);
        cluster.Network.Isolate(4, cluster.NodeIds);
        cluster.Network.Isolate(5, cluster.NodeIds);

        var result = leader.ProposeMembershipChange(MembershipChange.Batch(MembershipChange.AddLearners(4, 5, 6), MembershipChange.ReplaceVoters(4, 5, 6)));
        cluster.Run(5 * ElectionTicks);

        // The old voters all hold the joint entry; of the new voters only 6 does.
        foreach (var id in new ulong[] { 1, 2, 3, 6 })
        {
            Assert.True(cluster.Node(id)!.TryGetLogId(result.LogId.Index, out _), $"Node {id} must hold the joint entry.");
        }

        // (With check-quorum the leader even steps down: it hears from no majority of the new voters.)
        Assert.All(cluster.NodeIds, id => Assert.True(
            cluster.Node(id)!.Committed is not { } c || c.Index < result.LogId.Index,
            $"Node {id} knows the joint entry committed without the new majority.\n{cluster.Describe()}"));

        cluster.Network.HealAll();
        var settled = RunUntilSettledMembership(cluster);
        Assert.Equal([4UL, 5, 6], settled.Membership.Voters.ToArray());
    }

    [Fact]
    public void AJointConfigurationElectsOnlyWithBothMajorities()
    {
        var (cluster, leader) = Started(voters: 3, spares: 2);
        cluster.Network.Isolate(4, cluster.NodeIds);
        cluster.Network.Isolate(5, cluster.NodeIds);
        var result = leader.ProposeMembershipChange(MembershipChange.Batch(MembershipChange.AddLearners(4, 5), MembershipChange.ReplaceVoters(leader.Id, 4, 5)));
        var oldFollowers = new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id).ToArray();
        cluster.RunUntil(c => oldFollowers.All(id => c.Node(id)!.Membership.IsJoint), 5 * ElectionTicks);
        Assert.All(oldFollowers, id => Assert.True(cluster.Node(id)!.Membership.IsJoint, $"Node {id} must be in the joint configuration."));

        // With the leader gone the two old followers are a majority of the old voters but hold
        // no majority of the new ones {leader, 4, 5}: nobody may win.
        cluster.Crash(leader.Id);
        cluster.Run(30 * ElectionTicks);
        Assert.Null(cluster.Leader);

        // The new voters come back: both majorities can be gathered again.
        cluster.Network.HealAll();
        Assert.True(result.IsAccepted);
        var elected = StableLeader(cluster);
        Assert.True(elected.Vote > leader.Vote);
    }

    [Fact]
    public void AJointCandidateWithAMajorityOfTheNewVotersOnlyIsNotElected()
    {
        // Guards against an election that counts only the new configuration's voters: while
        // joint, a candidate needs a majority of the old voters {1,2,3} as well as of the new
        // voters {1,4,5}. Candidate 4 is a new voter whose grants come from the new side first.
        var candidate = TestNode.Create(4, Membership.Create([[1UL, 2, 3], [1UL, 4, 5]]));
        candidate.Raft.Campaign();
        var asked = candidate.Drain().OfType<VoteRequest>().Select(m => m.To).Order().ToArray();
        Assert.Equal([1UL, 2, 3, 5], asked);
        var vote = candidate.Raft.Vote;

        // 4 and 5: a majority of the new voters, none of the old.
        candidate.Raft.Step(new VoteResponse(5, 4, vote, true, null));
        Assert.True(candidate.Raft.Role == RaftRole.Candidate, $"Elected by {{4,5}}, no majority of the old voters {{1,2,3}}: {candidate.Raft.Role}.");

        // 1, 4 and 5: every new voter, still one old voter of three.
        candidate.Raft.Step(new VoteResponse(1, 4, vote, true, null));
        Assert.True(candidate.Raft.Role == RaftRole.Candidate, $"Elected by {{1,4,5}}, no majority of the old voters {{1,2,3}}: {candidate.Raft.Role}.");

        // 2 completes a majority of the old voters too.
        candidate.Raft.Step(new VoteResponse(2, 4, vote, true, null));
        Assert.Equal(RaftRole.Leader, candidate.Raft.Role);
    }

    [Fact]
    public void ASecondChangeIsRefusedWhileTheFirstIsInProgress()
    {
        var (_, leader) = Started(voters: 3, spares: 2);
        Assert.True(leader.ProposeMembershipChange(MembershipChange.AddVoters(4)).IsAccepted);

        var second = leader.ProposeMembershipChange(MembershipChange.AddLearners(5));

        Assert.Equal(MembershipChangeStatus.InProgress, second.Status);
        var error = Assert.Throws<MembershipChangeException>(second.ThrowIfRefused);
        Assert.Equal(MembershipChangeStatus.InProgress, error.Kind);
    }

    [Fact]
    public void AChangeIsAcceptedAgainOnceTheConfigurationIsUniformAndCommitted()
    {
        var (cluster, leader) = Started(voters: 3, spares: 2);
        leader.ProposeMembershipChange(MembershipChange.AddVoters(4)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);

        Assert.True(leader.ProposeMembershipChange(MembershipChange.AddLearners(5)).IsAccepted);
    }

    [Fact]
    public void Bug04_SingleServerChangeWithoutACurrentTermEntryFirstIsRefused()
    {
        // Ongaro, raft-dev 2015: a new leader that changes the configuration before committing
        // an entry of its own term can overlap an uncommitted change of an earlier leader, and
        // two disjoint majorities can then elect two leaders. The leader must commit its blank
        // entry first.
        var (cluster, leader) = Started(voters: 3, spares: 1);
        var followers = new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id).ToArray();
        cluster.Crash(leader.Id);

        // One follower wins with the other's vote, then loses touch with it before its blank entry commits.
        int steps = cluster.RunUntil(c => c.Leader is { } l && l.Id != leader.Id, 50 * ElectionTicks);
        Assert.True(steps >= 0, cluster.Describe());
        var newLeader = cluster.Leader!;
        var other = followers.Single(id => id != newLeader.Id);
        cluster.Network.Isolate(other, cluster.NodeIds);
        cluster.Run(1);
        Assert.False(newLeader.Committed is { } c && c.LeaderId == newLeader.Vote.LeaderId, $"The scenario needs a leader whose blank entry is not committed.\n{cluster.Describe()}");

        var refused = newLeader.ProposeMembershipChange(MembershipChange.AddVoters(4));

        Assert.Equal(MembershipChangeStatus.NotCommittedInTerm, refused.Status);
        Assert.Equal(MembershipChangeStatus.NotCommittedInTerm, Assert.Throws<MembershipChangeException>(refused.ThrowIfRefused).Kind);

        cluster.Network.HealAll();
        cluster.Restart(leader.Id);
        var stable = StableLeader(cluster);
        Assert.True(stable.ProposeMembershipChange(MembershipChange.AddVoters(4)).IsAccepted);
    }

    [Fact]
    public void Bug04_ANewLeaderRefusesAChangeUntilItsBlankEntryCommits()
    {
        // The same rule on one node, step by step: elected, blank entry not yet committed.
        var log = new InMemoryRaftLog();
        var node = new RaftNode(1, TestNode.PaperConfig(), log, Membership.FromVoters(1, 2, 3), RaftNodeState.Initial);
        node.Campaign();
        Drain(node, log);
        node.Step(new VoteResponse(2, 1, node.Vote, true, null));
        Assert.Equal(RaftRole.Leader, node.Role);
        var sent = Drain(node, log);

        Assert.Equal(MembershipChangeStatus.NotCommittedInTerm, node.ProposeMembershipChange(MembershipChange.AddVoters(4)).Status);

        var blank = sent.OfType<AppendEntriesRequest>().First(m => m.To == 2).Entries.Span[^1].LogId;
        node.Step(new AppendEntriesResponse(2, 1, node.Vote, AppendEntriesOutcome.Success, blank, 0, null));
        Assert.Equal(blank, node.Committed);
        Assert.True(node.ProposeMembershipChange(MembershipChange.AddVoters(4)).IsAccepted);
    }

    [Fact]
    public void AFollowerRefusesAChangeWithTheLeaderAsHint()
    {
        var (cluster, leader) = Started(voters: 3);
        var follower = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;

        var result = follower.ProposeMembershipChange(MembershipChange.AddLearners(9));

        Assert.Equal(MembershipChangeStatus.NotLeader, result.Status);
        Assert.Equal(leader.Id, result.LeaderHint);
        var error = Assert.Throws<MembershipChangeException>(result.ThrowIfRefused);
        Assert.Equal(leader.Id, error.LeaderHint);
    }

    [Theory]
    [InlineData("remove a node that is not a voter")]
    [InlineData("remove every voter")]
    [InlineData("add a voter as a learner")]
    [InlineData("remove a voter as a learner")]
    [InlineData("change nothing")]
    [InlineData("replace the voters with a node that is not a member")]
    public void AnInvalidChangeIsRefusedAndChangesNothing(string what)
    {
        var (_, leader) = Started(voters: 3);
        var change = what switch
        {
            "remove a node that is not a voter" => MembershipChange.RemoveVoters(9),
            "remove every voter" => MembershipChange.RemoveVoters(1, 2, 3),
            "add a voter as a learner" => MembershipChange.AddLearners(1),
            "remove a voter as a learner" => MembershipChange.RemoveLearners(2),

            // Named by its id alone, node 9 may not exist: a joint configuration needing it
            // could neither commit nor elect, and so never be left.
            "replace the voters with a node that is not a member" => MembershipChange.ReplaceVoters(1, 9),
            _ => MembershipChange.AddVoters(1),
        };
        var before = leader.LastLogId;

        var result = leader.ProposeMembershipChange(change);

        Assert.Equal(MembershipChangeStatus.Invalid, result.Status);
        Assert.False(string.IsNullOrEmpty(result.Error));
        Assert.Equal(before, leader.LastLogId);
    }

    [Fact]
    public void AChangeOfLearnersAloneNeedsNoJointConfiguration()
    {
        var (_, leader) = Started(voters: 3, spares: 1);

        var result = leader.ProposeMembershipChange(MembershipChange.AddLearner(4, new byte[] { 4, 4 }));

        Assert.True(result.IsAccepted);
        Assert.False(result.Membership!.IsJoint);
        Assert.Equal([4UL], leader.Membership.Learners.ToArray());
        Assert.Equal(new byte[] { 4, 4 }, leader.Membership.Nodes[4].ToArray());
    }

    [Fact]
    public void ABatchAppliesItsStepsInOrder()
    {
        var (cluster, leader) = Started(voters: 3, spares: 2);
        var victim = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);

        leader.ProposeMembershipChange(MembershipChange.Batch(MembershipChange.AddVoters(4), MembershipChange.AddLearners(5), MembershipChange.RemoveVoters(victim))).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);

        Assert.Equal(new ulong[] { 1, 2, 3, 4 }.Where(id => id != victim).ToArray(), leader.Membership.Voters.ToArray());
        Assert.Equal([5UL], leader.Membership.Learners.ToArray());
        Assert.False(leader.Membership.Contains(victim));
    }

    [Fact]
    public void RetainKeepsRemovedVotersAsLearners()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);
        var victim = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);

        leader.ProposeMembershipChange(MembershipChange.RemoveVoters(victim).WithRetain(true)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);

        Assert.Equal(new[] { 4UL, victim }.Order().ToArray(), leader.Membership.Learners.ToArray());
        Assert.Equal(RaftRole.Learner, cluster.Node(victim)!.Role);
    }

    [Fact]
    public void ALeaderRemovedFromTheConfigurationStepsDownOnceThatConfigurationCommits()
    {
        var (cluster, leader) = Started(voters: 3);
        var result = leader.ProposeMembershipChange(MembershipChange.RemoveVoters(leader.Id));
        Assert.True(result.IsAccepted);

        // Still leading while joint: it manages the change it started.
        Assert.Equal(RaftRole.Leader, leader.Role);
        int steps = cluster.RunUntil(_ => leader.Role != RaftRole.Leader, 20 * ElectionTicks);
        Assert.True(steps >= 0, cluster.Describe());
        Assert.False(leader.Membership.IsJoint);
        Assert.False(leader.Membership.Contains(leader.Id));
        Assert.True(leader.Committed!.Value.Index >= leader.EffectiveMembership.LogId!.Value.Index, "It must step down only after the configuration that removes it committed.");

        var next = StableLeader(cluster);
        Assert.NotEqual(leader.Id, next.Id);
        Assert.Equal(RaftRole.Learner, leader.Role);
        cluster.Run(30 * ElectionTicks);
        Assert.Equal(next.Vote, cluster.Leader!.Vote);
    }

    [Fact]
    public void ARemovedVoterLearnsThatItsRemovalCommittedAndStaysSilent()
    {
        var (cluster, leader) = Started(voters: 3);
        var removed = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;

        leader.ProposeMembershipChange(MembershipChange.RemoveVoters(removed.Id)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);
        cluster.Run(2);

        Assert.Equal(leader.EffectiveMembership, removed.EffectiveMembership);
        Assert.Equal(RaftRole.Learner, removed.Role);
        Assert.False(removed.IsOutgoingVoter, $"The removed node must know its removal committed: {removed}");
        var vote = removed.Vote;
        cluster.Run(30 * ElectionTicks);
        Assert.Equal(vote, removed.Vote);
    }

    [Fact]
    public void ATruncatedMembershipEntryGivesWayToThePreviousConfiguration()
    {
        var log = new InMemoryRaftLog();
        var node = new RaftNode(3, TestNode.PaperConfig(), log, Membership.FromVoters(1, 2, 3), RaftNodeState.Initial);
        var firstLeader = new Vote(1, 1).Commit();
        var joint = Membership.Create([[1UL, 2, 3], [1UL, 2, 3, 4]]);
        node.Step(new AppendEntriesRequest(1, 3, firstLeader, null, new[] { Entry.Blank(new LogId(1, 1, 0)), Entry.ForMembership(new LogId(1, 1, 1), joint) }, new LogId(1, 1, 0)));
        Assert.Equal(joint, node.Membership);
        Assert.Equal(new LogId(1, 1, 1), node.EffectiveMembership.LogId);

        // A later leader never had the joint entry: its entry at index 1 replaces it.
        var secondLeader = new Vote(2, 2).Commit();
        node.Step(new AppendEntriesRequest(2, 3, secondLeader, new LogId(1, 1, 0), new[] { Entry.Blank(new LogId(2, 2, 1)) }, null));

        Assert.Equal(Membership.FromVoters(1, 2, 3), node.Membership);
        Assert.Null(node.EffectiveMembership.LogId);
    }

    [Fact]
    public void ARestartedNodeTakesItsConfigurationFromTheLog()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddVoters(4)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);
        var follower = new ulong[] { 1, 2, 3, 4 }.First(id => id != leader.Id);

        cluster.Crash(follower);
        cluster.Restart(follower);

        Assert.Equal(leader.Membership, cluster.Node(follower)!.Membership);
    }

    private static List<RaftMessage> Drain(RaftNode node, InMemoryRaftLog log)
    {
        var sent = new List<RaftMessage>();
        while (node.HasReady)
        {
            var ready = node.GetReady();
            sent.AddRange(ready.Messages);
            if (ready.HasTruncation)
            {
                log.TruncateFrom(ready.TruncateFromIndex);
            }

            log.Append(ready.Entries.Span);
            node.Advance(ready);
        }

        return sent;
    }
}
