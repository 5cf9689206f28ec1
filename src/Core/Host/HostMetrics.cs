using System.Diagnostics.Metrics;

namespace RaftToolkit.Core.Host;

/// <summary>The host's meter, <c>RaftToolkit.Host</c>. Every measurement carries the host's node id as <c>raftkit.node</c>.</summary>
public static class HostMetrics
{
    /// <summary>The meter name to listen to.</summary>
    public const string MeterName = "RaftToolkit.Host";

    private static readonly Meter HostMeter = new(MeterName);

    internal static readonly Counter<long> Rounds = HostMeter.CreateCounter<long>("raftkit.host.rounds", "{round}", "Worker rounds that handled at least one group.");

    internal static readonly Histogram<int> GroupsPerRound = HostMeter.CreateHistogram<int>("raftkit.host.groups_per_round", "{group}", "Groups whose Ready one round persisted, sent and applied.");

    internal static readonly Counter<long> Proposals = HostMeter.CreateCounter<long>("raftkit.host.proposals", "{proposal}", "Proposals accepted by a leader on this host.");

    internal static readonly Counter<long> Commits = HostMeter.CreateCounter<long>("raftkit.host.commits", "{entry}", "Committed entries applied to state machines.");

    internal static readonly Histogram<double> ApplyLatency = HostMeter.CreateHistogram<double>("raftkit.host.apply_latency", "ms", "Time one round spent in the state machines applying committed entries (snapshot builds not included).");

    internal static readonly Counter<long> AppliesParked = HostMeter.CreateCounter<long>("raftkit.host.applies_parked", "{apply}", "State machine applies still running a tick after their round started them: the round went on without them, and each held its own group until it ended.");

    internal static readonly Counter<long> Elections = HostMeter.CreateCounter<long>("raftkit.host.elections", "{election}", "Times a group on this host became a candidate.");
}

/// <summary>Running totals of one host, for tests, tools and the demo (the meter carries the same numbers).</summary>
public sealed class HostStatistics
{
    internal long RoundsValue;
    internal long StoreWritesValue;
    internal long EntriesWrittenValue;
    internal long BatchesSentValue;
    internal long MessagesSentValue;
    internal long ProposalsValue;
    internal long CommitsValue;
    internal long ElectionsValue;
    internal long BackfillLoadsValue;
    internal long SnapshotsBuiltValue;
    internal long SnapshotsInstalledValue;
    internal long ReadsServedValue;
    internal long TickedGroupsValue;
    internal long PingsWithheldTicksValue;
    internal long PeersFoundSilentValue;
    internal long AppliesParkedValue;

    /// <summary>Rounds that handled at least one group.</summary>
    public long Rounds => Interlocked.Read(ref RoundsValue);

    /// <summary>
    /// Completed <see cref="Storage.IMultiGroupLogStore.WriteAsync"/> calls: one per round with
    /// something to persist, one more before a round's snapshot installs, and a refused write
    /// retried without the group it named counts once.
    /// </summary>
    public long StoreWrites => Interlocked.Read(ref StoreWritesValue);

    /// <summary>Log entries persisted.</summary>
    public long EntriesWritten => Interlocked.Read(ref EntriesWrittenValue);

    /// <summary>Transport batches sent (at most one per peer per round).</summary>
    public long BatchesSent => Interlocked.Read(ref BatchesSentValue);

    /// <summary>Raft messages sent.</summary>
    public long MessagesSent => Interlocked.Read(ref MessagesSentValue);

    /// <summary>Proposals accepted by a leader here.</summary>
    public long Proposals => Interlocked.Read(ref ProposalsValue);

    /// <summary>Committed entries applied here.</summary>
    public long Commits => Interlocked.Read(ref CommitsValue);

    /// <summary>Times a group here became a candidate.</summary>
    public long Elections => Interlocked.Read(ref ElectionsValue);

    /// <summary>Entry ranges loaded from the store for followers that were far behind.</summary>
    public long BackfillLoads => Interlocked.Read(ref BackfillLoadsValue);

    /// <summary>Snapshots the groups' state machines built (and the nodes adopted) here.</summary>
    public long SnapshotsBuilt => Interlocked.Read(ref SnapshotsBuiltValue);

    /// <summary>Snapshots received from leaders and installed into state machines here.</summary>
    public long SnapshotsInstalled => Interlocked.Read(ref SnapshotsInstalledValue);

    /// <summary>ReadIndex reads confirmed and served (applied far enough) here.</summary>
    public long ReadsServed => Interlocked.Read(ref ReadsServedValue);

    /// <summary>Group ticks done: quiescent groups are not ticked, so with quiescence on this stops growing while every group is idle.</summary>
    public long TickedGroups => Interlocked.Read(ref TickedGroupsValue);

    /// <summary>
    /// Ticks on which this host withheld its pings because a worker had been in one round for
    /// <see cref="MultiRaftHostOptions.PeerSilenceTicks"/> (a store write that did not return, or a
    /// state machine blocking the worker's thread): anything but 0 means a worker was stuck, and its peers failed its
    /// quiescent groups over.
    /// </summary>
    public long PingsWithheldTicks => Interlocked.Read(ref PingsWithheldTicksValue);

    /// <summary>Times a peer host fell silent and the quiescent groups shared with it were woken here.</summary>
    public long PeersFoundSilent => Interlocked.Read(ref PeersFoundSilentValue);

    /// <summary>
    /// State machine applies that were still running a tick after their round started them: the
    /// round went on with the worker's other groups, and the group waited for its apply alone.
    /// Anything but 0 means a state machine slower than a tick.
    /// </summary>
    public long AppliesParked => Interlocked.Read(ref AppliesParkedValue);
}
