using RaftToolkit.Core.Raft;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>RaftConfig.Validate names the bad setting.</summary>
public sealed class RaftConfigTests
{
    public static TheoryData<string, RaftConfig> BadConfigs => new()
    {
        { "ElectionTicks", new RaftConfig { ElectionTicks = 1 } },
        { "HeartbeatTicks", new RaftConfig { HeartbeatTicks = 0 } },
        { "HeartbeatTicks", new RaftConfig { ElectionTicks = 5, HeartbeatTicks = 5 } },
        { "MaxEntriesPerAppend", new RaftConfig { MaxEntriesPerAppend = 0 } },
        { "MaxBytesPerAppend", new RaftConfig { MaxBytesPerAppend = 0 } },
        { "MaxInflightAppends", new RaftConfig { MaxInflightAppends = 0 } },
        { "MaxApplyEntriesPerReady", new RaftConfig { MaxApplyEntriesPerReady = 0 } },
        { "SnapshotAfterEntries", new RaftConfig { SnapshotAfterEntries = -1 } },
        { "PurgeKeepEntries", new RaftConfig { PurgeKeepEntries = -1 } },
        { "SnapshotChunkBytes", new RaftConfig { SnapshotChunkBytes = 0 } },
        { "PurgeHoldElectionTimeouts", new RaftConfig { PurgeHoldElectionTimeouts = 0 } },
    };

    [Fact]
    public void DefaultConfigIsValid() => new RaftConfig().Validate();

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void InvalidSettingIsRejectedNamingTheSetting(string setting, RaftConfig config)
    {
        var error = Assert.ThrowsAny<ArgumentException>(config.Validate);
        Assert.Equal(setting, error.ParamName);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NodeRefusesAnInvalidConfigBeforeStarting()
    {
        Assert.ThrowsAny<ArgumentException>(() =>
            new RaftNode(1, new RaftConfig { ElectionTicks = 1 }, new RaftToolkit.Core.Raft.Log.InMemoryRaftLog(), RaftToolkit.Core.Model.Membership.FromVoters(1), RaftNodeState.Initial));
    }
}
