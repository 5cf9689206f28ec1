using System.Text;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Testing.Simulation;
using Xunit;

namespace RaftToolkit.Testing.Tests.Simulation;

/// <summary>
/// The safety checker fed by hand with observations that break each property it claims to
/// check, and with legal ones it must let pass.
/// </summary>
public sealed class SafetyCheckerTests
{
    private static readonly LeaderId Term1 = new(1, 1);
    private static readonly LeaderId Term2 = new(2, 2);

    private static LogId Id(LeaderId leader, ulong index) => new(leader, index);

    private static Entry Data(LeaderId leader, ulong index, string payload) => Entry.Normal(Id(leader, index), Encoding.UTF8.GetBytes(payload));

    /// <summary>A node whose log holds <paramref name="entries"/>.</summary>
    private static RaftNode NodeWith(ulong id, params Entry[] entries) =>
        new(id, new RaftConfig(), new InMemoryRaftLog(entries), Membership.FromVoters(1, 2, 3), RaftNodeState.Initial);

    private static void AssertViolation(string property, Action observe)
    {
        var error = Assert.Throws<SimulationInvariantException>(observe);
        Assert.Contains(property, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoNodesHoldingOneLeaderIdBreakElectionSafety()
    {
        var checker = new SafetyChecker();
        checker.OnLeader(1, 1, Term1, NodeWith(1));
        AssertViolation("Election safety", () => checker.OnLeader(2, 1, Term1, NodeWith(2)));
    }

    [Fact]
    public void ARestartedNodeElectedAgainUnderItsOldLeaderIdBreaksElectionSafety()
    {
        // The restart lost the vote: the node granted the same leader id a second time.
        var checker = new SafetyChecker();
        checker.OnLeader(1, 1, Term1, NodeWith(1));
        AssertViolation("Election safety", () => checker.OnLeader(1, 2, Term1, NodeWith(1)));
    }

    [Fact]
    public void ALeaderSeenOnEveryStepIsOneLeader()
    {
        var checker = new SafetyChecker();
        var leader = NodeWith(1);
        checker.OnLeader(1, 1, Term1, leader);
        checker.OnLeader(1, 1, Term1, leader);
        checker.OnLeader(2, 1, Term2, NodeWith(2));
    }

    [Fact]
    public void OneLogIdAfterTwoDifferentPredecessorsBreaksLogMatching()
    {
        var checker = new SafetyChecker();
        checker.OnEntryDurable(1, null, Data(Term1, 0, "a"));
        checker.OnEntryDurable(1, Id(Term1, 0), Data(Term2, 1, "b"));
        checker.OnEntryDurable(2, null, Data(Term2, 0, "c"));
        AssertViolation("Log matching", () => checker.OnEntryDurable(2, Id(Term2, 0), Data(Term2, 1, "b")));
    }

    [Fact]
    public void OneLogIdWithTwoPayloadsIsReported()
    {
        var checker = new SafetyChecker();
        checker.OnEntryDurable(1, null, Data(Term1, 0, "a"));
        var error = Assert.Throws<SimulationInvariantException>(() => checker.OnEntryDurable(2, null, Data(Term1, 0, "b")));
        Assert.Contains("same log id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameEntryStoredByEveryNodeAfterTheSamePredecessorIsAgreement()
    {
        var checker = new SafetyChecker();
        for (ulong node = 1; node <= 3; node++)
        {
            checker.OnEntryDurable(node, null, Data(Term1, 0, "a"));
            checker.OnEntryDurable(node, Id(Term1, 0), Data(Term1, 1, "b"));
        }
    }

    [Fact]
    public void ALeaderMissingAnEntryAnEarlierLeaderCommittedBreaksLeaderCompleteness()
    {
        var checker = new SafetyChecker();
        var first = NodeWith(1, Data(Term1, 0, "a"), Data(Term1, 1, "b"));
        checker.OnCommitted(1, first, 0, 1);
        checker.OnLeaderCommitted(Term1, Id(Term1, 1));
        AssertViolation("Leader completeness", () => checker.OnLeader(2, 1, Term2, NodeWith(2, Data(Term1, 0, "a"))));
    }

    [Fact]
    public void ALeaderHoldingADifferentEntryAtACommittedIndexBreaksLeaderCompleteness()
    {
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a"), Data(Term1, 1, "b")), 0, 1);
        checker.OnLeaderCommitted(Term1, Id(Term1, 1));
        AssertViolation("Leader completeness", () => checker.OnLeader(2, 1, Term2, NodeWith(2, Data(Term1, 0, "a"), Data(new LeaderId(1, 3), 1, "b"))));
    }

    [Fact]
    public void EveryEarlierLeadersCommitsBindALaterLeaderNotOnlyTheLatest()
    {
        // Leader T1 committed two entries, then leader T1-N2 (a smaller later report) one:
        // the new leader must still hold both.
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a"), Data(Term1, 1, "b")), 0, 1);
        checker.OnLeaderCommitted(Term1, Id(Term1, 1));
        checker.OnLeaderCommitted(new LeaderId(1, 2), Id(Term1, 0));
        AssertViolation("Leader completeness", () => checker.OnLeader(3, 1, new LeaderId(3, 3), NodeWith(3, Data(Term1, 0, "a"))));
    }

    [Fact]
    public void ALeaderIdBelowTheCommitterNeedNotHoldWhatItCommitted()
    {
        // Late votes may still elect T1-N1 after T2 committed, but it can never commit.
        var checker = new SafetyChecker();
        checker.OnCommitted(2, NodeWith(2, Data(Term2, 0, "a")), 0, 0);
        checker.OnLeaderCommitted(Term2, Id(Term2, 0));
        checker.OnLeader(1, 1, Term1, NodeWith(1));
    }

    [Fact]
    public void ALeaderHoldingEveryCommittedEntryIsComplete()
    {
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a"), Data(Term1, 1, "b")), 0, 1);
        checker.OnLeaderCommitted(Term1, Id(Term1, 1));
        checker.OnLeader(2, 1, Term2, NodeWith(2, Data(Term1, 0, "a"), Data(Term1, 1, "b"), Data(Term2, 2, "c")));
    }

    [Fact]
    public void TwoNodesCommittingDifferentEntriesAtOneIndexBreakStateMachineSafety()
    {
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a")), 0, 0);
        AssertViolation("State-machine safety", () => checker.OnCommitted(2, NodeWith(2, Data(Term2, 0, "a")), 0, 0));
    }

    [Fact]
    public void CommittedEntriesAtTheSameIndexDifferingOnlyInLeaderAreDifferent()
    {
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a"), Data(Term1, 1, "b")), 0, 1);
        AssertViolation("State-machine safety", () => checker.OnCommitted(2, NodeWith(2, Data(Term1, 0, "a"), Data(new LeaderId(1, 2), 1, "b")), 1, 1));
    }

    [Fact]
    public void ANodeCommittingPastItsLogIsReported()
    {
        var checker = new SafetyChecker();
        Assert.Throws<SimulationInvariantException>(() => checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a")), 0, 1));
    }

    [Fact]
    public void TwoNodesApplyingDifferentEntriesAtOneIndexBreakStateMachineSafety()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        AssertViolation("State-machine safety", () => checker.OnApplied(2, 0, Data(Term2, 0, "a")));
    }

    [Fact]
    public void EntriesFromTwoLeadersOfOneTermAppliedAtOneIndexBreakStateMachineSafety()
    {
        // Leader ids are (term, node): a term may have several leaders, so the term alone
        // does not identify an entry.
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        AssertViolation("State-machine safety", () => checker.OnApplied(2, 0, Data(new LeaderId(1, 2), 0, "a")));
    }

    [Fact]
    public void ApplyingAnEntryOtherThanTheCommittedOneBreaksStateMachineSafety()
    {
        var checker = new SafetyChecker();
        checker.OnCommitted(1, NodeWith(1, Data(Term1, 0, "a")), 0, 0);
        AssertViolation("State-machine safety", () => checker.OnApplied(2, 0, Data(Term2, 0, "a")));
    }

    [Fact]
    public void ApplyingTheCommittedIdWithAnotherPayloadIsReported()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        Assert.Throws<SimulationInvariantException>(() => checker.OnApplied(2, 0, Data(Term1, 0, "b")));
    }

    [Fact]
    public void ApplyingOutOfOrderIsReported()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        AssertViolation("Apply order", () => checker.OnApplied(1, 1, Data(Term1, 2, "c")));
    }

    [Fact]
    public void ApplyingBeyondWhatIsKnownCommittedIsReported()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        Assert.Throws<SimulationInvariantException>(() => checker.OnApplied(2, 2, Data(Term1, 2, "c")));
    }

    [Fact]
    public void EveryReplicaApplyingTheSameSequencePasses()
    {
        var checker = new SafetyChecker();
        for (ulong node = 1; node <= 3; node++)
        {
            checker.OnApplied(node, 0, Data(Term1, 0, "a"));
            checker.OnApplied(node, 1, Data(Term1, 1, "b"));
        }

        Assert.Equal([Id(Term1, 0), Id(Term1, 1)], checker.CommittedSequence);
    }

    [Fact]
    public void SnapshotsOfOneEntryWithDifferentBytesBreakStateMachineSafety()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        checker.OnSnapshot(1, Id(Term1, 0), [1, 2]);
        AssertViolation("State-machine safety", () => checker.OnSnapshot(2, Id(Term1, 0), [1, 3]));
    }

    [Fact]
    public void ASnapshotEndingAtAnUncommittedEntryIsReported()
    {
        var checker = new SafetyChecker();
        checker.OnApplied(1, 0, Data(Term1, 0, "a"));
        Assert.Throws<SimulationInvariantException>(() => checker.OnSnapshot(1, Id(Term2, 0), [1]));
        Assert.Throws<SimulationInvariantException>(() => checker.OnSnapshot(1, Id(Term1, 1), [1]));
    }
}
