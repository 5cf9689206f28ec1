using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Tests.Raft;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Storage;

/// <summary>
/// A host installs a snapshot into the state machine before it writes the round's purge. A
/// crash in between must leave storage that starts up: the follower below holds entries of an
/// old term past its commit index, and the snapshot's last index is among them.
/// </summary>
public sealed class SnapshotInstallCrashTests
{
    [Fact]
    public async Task ACrashRightAfterInstallingASnapshotThatContradictsTheLogLeavesStorageThatStartsUp()
    {
        var entries = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 1 }, entries, vote: new Vote(new LeaderId(1, 1), true), committed: entries[3].LogId);
        var meta = new SnapshotMeta(new LogId(2, 3, 6), StoredMembership.Default, "from the new leader");
        follower.Raft.Step(new InstallSnapshotRequest(3, 2, new Vote(new LeaderId(2, 3), true), meta, 0, new byte[] { 9 }, true));
        follower.Drain();
        var truncation = Assert.Single(follower.TruncationsBeforeInstall);

        var stateMachine = await AssertStartsUpAfterACrashRightAfterTheInstall(entries, truncation, meta);

        // Without the truncation, start-up refuses the storage for good.
        var untruncated = await StoreHoldingAsync(entries, entries[3].LogId);
        var refused = await Assert.ThrowsAsync<StorageInconsistencyException>(async () => await RaftStorageHelper.GetInitialStateAsync(untruncated, stateMachine));
        Assert.Contains("inverted log order", refused.Message, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// In one round, before its next Ready: a new leader's append truncates the follower's old
    /// entries from index 4 (still on disk: the truncation is not handed out yet), and then its
    /// snapshot ends at index 6. The view no longer shows the old entry at 6, and with the new
    /// entries appended it may even show the snapshot's own; the old entries on disk must still be
    /// deleted before the install, or a crash right after it leaves storage that never starts.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task ACrashRightAfterInstallingASnapshotBehindATruncationNotYetWrittenLeavesStorageThatStartsUp(int newEntries)
    {
        var entries = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 1 }, entries, vote: new Vote(new LeaderId(1, 1), true), committed: entries[3].LogId);
        var newLeader = new Vote(new LeaderId(2, 3), true);
        var appended = Enumerable.Range(4, newEntries).Select(index => Entry.Normal(new LogId(2, 3, (ulong)index), new byte[] { (byte)index })).ToArray();
        follower.Raft.Step(new AppendEntriesRequest(3, 2, newLeader, entries[3].LogId, appended, entries[3].LogId));
        var meta = new SnapshotMeta(new LogId(2, 3, 6), StoredMembership.Default, "from the new leader");
        follower.Raft.Step(new InstallSnapshotRequest(3, 2, newLeader, meta, 0, new byte[] { 9 }, true));
        var ready = follower.Raft.GetReady();
        Assert.Equal(meta, ready.SnapshotToInstall);
        var truncation = Assert.NotNull(ready.TruncationBeforeInstall);
        Assert.Equal(4UL, truncation.FromIndex);

        await AssertStartsUpAfterACrashRightAfterTheInstall(entries, truncation, meta);
    }

    /// <summary>
    /// Storage as a crash right after the install leaves it (the follower's <paramref name="entries"/>
    /// with <paramref name="truncation"/> applied, and the state machine holding the snapshot)
    /// starts up at the snapshot's last log id. Returns that state machine.
    /// </summary>
    private static async Task<InMemoryStateMachine> AssertStartsUpAfterACrashRightAfterTheInstall(Entry[] entries, LogTruncation truncation, SnapshotMeta meta)
    {
        var log = await StoreHoldingAsync(entries, entries[3].LogId);
        await log.TruncateAfterAsync(truncation.After);
        var stateMachine = new InMemoryStateMachine();
        await stateMachine.InstallSnapshotAsync(meta, KvSnapshot.Capture([]));

        var state = await RaftStorageHelper.GetInitialStateAsync(log, stateMachine);
        Assert.Equal(meta.LastLogId, state.LastLogId);
        return stateMachine;
    }

    private static async Task<InMemoryLogStore> StoreHoldingAsync(Entry[] entries, LogId committed)
    {
        var log = new InMemoryLogStore();
        await log.AppendAndFlushAsync(entries);
        await log.SaveVoteAsync(new Vote(new LeaderId(1, 1), true));
        await log.SaveCommittedAsync(committed);
        return log;
    }
}
