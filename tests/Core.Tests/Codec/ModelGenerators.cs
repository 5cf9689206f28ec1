using CsCheck;
using RaftToolkit.Core.Model;
using EntryType = RaftToolkit.Core.Model.Entry;
using MembershipType = RaftToolkit.Core.Model.Membership;

namespace RaftToolkit.Core.Tests.Codec;

/// <summary>CsCheck generators for every toolkit-owned type.</summary>
internal static class ModelGenerators
{
    public static readonly Gen<LeaderId> LeaderId =
        Gen.Select(Gen.ULong, Gen.ULong, (term, node) => new LeaderId(term, node));

    public static readonly Gen<Vote> Vote =
        Gen.Select(LeaderId, Gen.Bool, (leader, committed) => new Vote(leader, committed));

    public static readonly Gen<LogId> LogId =
        Gen.Select(LeaderId, Gen.ULong, (leader, index) => new LogId(leader, index));

    public static readonly Gen<LogId?> OptionalLogId =
        Gen.Frequency((1, Gen.Const((LogId?)null)), (4, LogId.Select(id => (LogId?)id)));

    public static readonly Gen<Membership> Membership =
        Gen.Select(
            Gen.ULong[0, 12].Array[0, 6].Array[1, 2],
            Gen.ULong[0, 24].Array[0, 4],
            Gen.Byte.Array[0, 6],
            (configs, learners, nodeData) =>
            {
                var sets = configs.Select(c => c.Distinct().ToArray()).ToArray();
                if (sets.Length == 2 && sets.Any(set => set.Length == 0))
                {
                    // Both sets of a joint membership hold a voter: otherwise one set, the voters of both.
                    sets = [sets[0].Union(sets[1]).ToArray()];
                }

                var voters = sets.SelectMany(s => s).ToHashSet();
                var nodes = voters.Concat(learners.Where(l => !voters.Contains(l)).Distinct())
                    .Select(id => new KeyValuePair<ulong, ReadOnlyMemory<byte>>(id, nodeData));
                return MembershipType.Create(sets, nodes);
            });

    public static readonly Gen<StoredMembership> StoredMembership =
        Gen.Select(OptionalLogId, Membership, (id, membership) => new StoredMembership(id, membership));

    public static readonly Gen<Entry> Entry =
        Gen.OneOf(
            LogId.Select(EntryType.Blank),
            Gen.Select(LogId, Gen.Byte.Array[0, 300], (id, data) => EntryType.Normal(id, data)),
            Gen.Select(LogId, Membership, EntryType.ForMembership));

    public static readonly Gen<LogState> LogState =
        Gen.Select(OptionalLogId, OptionalLogId, (purged, last) => new LogState(purged, last));

    public static readonly Gen<SnapshotMeta> SnapshotMeta =
        Gen.Select(OptionalLogId, StoredMembership, Gen.String[0, 20], (last, membership, id) => new SnapshotMeta(last, membership, id));
}
