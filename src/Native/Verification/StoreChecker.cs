using System.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;

namespace RaftToolkit.Native.Verification;

/// <summary>
/// The checks of a store verification, fed every key and value of the store in key order, group
/// by group, each group's meta records before its log (the walk that reads them is
/// <see cref="RocksDbLogStore.VerifyAsync(VerificationLimits, CancellationToken)"/>'s). Records are
/// decoded by the store's own formats, so a record is reported damaged exactly when a read of it
/// would fail.
/// </summary>
internal sealed class StoreChecker
{
    private readonly LogKeySpace _space;
    private readonly VerificationLimits _limits;
    private readonly List<StoreProblem> _problems = [];
    private readonly List<UnlistedProblems> _unlisted = [];
    private long _problemCount;
    private long _groupsChecked;
    private long _entriesChecked;
    private long _groupsWithProblems;

    /// <summary>The problems of the keys that belong to no group.</summary>
    private ProblemTally _outsideGroups;

    /// <summary>The group being checked; meaningful between <see cref="BeginGroup"/> and <see cref="EndGroup"/>.</summary>
    private ulong _group;

    private bool _inGroup;

    /// <summary>The problems of the group being checked.</summary>
    private ProblemTally _groupTally;

    /// <summary>
    /// False once the group's last purged record failed to decode: where its log must start is then
    /// unknown, and neither a hole before the first entry nor an entry left below the purge is judged.
    /// </summary>
    private bool _purgedKnown;

    /// <summary>The group's last purged id, when <see cref="_purgedKnown"/> (null: nothing purged).</summary>
    private LogId? _purged;

    /// <summary>The index of the group's last log key read, if any, above its purged index.</summary>
    private ulong? _previousIndex;

    /// <summary>
    /// The id of the group's last entry that decoded, or before its first, the last purged id:
    /// the term the next entry must not go below.
    /// </summary>
    private LogId? _lastDecoded;

    /// <summary>The group's saved vote, if its record decoded.</summary>
    private Vote? _vote;

    /// <summary>An entry of the group with a term above its vote's was reported (once per group is enough).</summary>
    private bool _termAboveVoteReported;

    /// <summary>The group's committed id, if its record decoded.</summary>
    private LogId? _committed;

    /// <summary>A log key at the committed index was read (whatever its record held).</summary>
    private bool _committedIndexRead;

    /// <summary>False once a damaged block hid part of the group's log: where the log ends is then unknown.</summary>
    private bool _logEndKnown;

    /// <summary>A damaged block stopped the walk of the meta family: later groups' meta records were not read.</summary>
    private bool _metaUnread;

    /// <summary>A damaged block stopped the walk of the log family: later groups' logs were not read.</summary>
    private bool _logUnread;

    public StoreChecker(LogKeySpace space, VerificationLimits limits)
    {
        _space = space;
        _limits = limits;
    }

    /// <summary>Starts the checks of <paramref name="groupId"/>: its meta records come next, then its log.</summary>
    public void BeginGroup(ulong groupId)
    {
        _group = groupId;
        _inGroup = true;
        _groupTally = default;
        _purgedKnown = !_metaUnread;
        _purged = null;
        _previousIndex = null;
        _lastDecoded = null;
        _vote = null;
        _termAboveVoteReported = false;
        _committed = null;
        _committedIndexRead = false;
        _logEndKnown = !_logUnread;
        _groupsChecked++;
    }

    /// <summary>Ends the group's checks.</summary>
    public void EndGroup()
    {
        CheckCommittedReached();
        NoteUnlisted(_group, _groupTally);
        _inGroup = false;
    }

    /// <summary>Checks one key of the group's meta range and its record.</summary>
    public void CheckMeta(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (!LogKeys.TryReadMetaLabel(key, _space, out var label))
        {
            Report(StoreProblemKind.ForeignKey, null, $"Group {_group}: the meta key {Convert.ToHexString(key)} is not one of the key space's (vote, committed, last_purged).");
            return;
        }

        try
        {
            switch (label)
            {
                case MetaLabel.Vote:
                    _vote = MetaRecordFormat.DecodeVote(value, _group);
                    break;
                case MetaLabel.Committed:
                    _committed = MetaRecordFormat.DecodeLogId(value, _group, label);
                    break;
                default:
                    _purged = MetaRecordFormat.DecodeLogId(value, _group, label);
                    _lastDecoded = _purged;
                    break;
            }
        }
        catch (MetaRecordCorruptionException e)
        {
            if (label == MetaLabel.LastPurged)
            {
                _purgedKnown = false;
            }

            Report(StoreProblemKind.CorruptMetaRecord, null, e.Message);
        }
    }

    /// <summary>Checks one key of the group's log range and its record.</summary>
    public void CheckLog(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int keyLength = LogKeys.LogKeyLength(_space);
        if (key.Length != keyLength)
        {
            string where = _previousIndex is { } after ? $", after index {after}" : string.Empty;
            Report(StoreProblemKind.ForeignKey, null, $"Group {_group}: a key of {key.Length} bytes ({Convert.ToHexString(key)}) lies among the log entries{where}, where every log key is {keyLength} bytes.");
            return;
        }

        ulong index = LogKeys.ReadIndex(key, _space);
        _entriesChecked++;
        if (index > LogIndexes.Max)
        {
            Report(StoreProblemKind.ForeignKey, index, $"Group {_group}: a log key names index {index}, past {LogIndexes.Max}, the largest a log takes.");
            return;
        }

        if (_purgedKnown && _purged is { } purged && index <= purged.Index)
        {
            Report(StoreProblemKind.EntryAtOrBelowPurged, index, $"Group {_group}: entry {index} is still stored, though the log is purged up to {purged}, and a purge deletes the entries it covers in the same write.");
            return;
        }

        if (ExpectedIndex() is { } expected && index != expected)
        {
            string after = _previousIndex is { } previous
                ? $"index {index} follows {previous}"
                : _purged is { } p ? $"the log starts at index {index}, and is purged up to {p}" : $"the log starts at index {index}, and nothing is purged";
            string missing = index - 1 == expected ? $"entry {expected} is" : $"entries {expected} to {index - 1} are";
            Report(StoreProblemKind.Hole, expected, $"Group {_group}: the log has a hole: {missing} missing ({after}).");
        }

        _previousIndex = index;
        _committedIndexRead |= _committed?.Index == index;
        Entry entry;
        try
        {
            entry = LogRecordFormat.Decode(value, _space, _group, index);
        }
        catch (LogCorruptionException e)
        {
            Report(StoreProblemKind.CorruptLogRecord, index, e.Message);
            return;
        }

        var id = entry.LogId;
        if (_lastDecoded is { } before && id.LeaderId.Term < before.LeaderId.Term)
        {
            string what = before == _purged ? $"of the last purged id {before}" : $"of entry {before.Index} before it";
            Report(StoreProblemKind.TermDecreases, index, $"Group {_group}: entry {index} has term {id.LeaderId.Term}, lower than term {before.LeaderId.Term} {what}.");
        }

        if (_vote is { } vote && id.LeaderId.Term > vote.Term && !_termAboveVoteReported)
        {
            _termAboveVoteReported = true;
            Report(StoreProblemKind.TermAboveVote, index, $"Group {_group}: entry {index} has term {id.LeaderId.Term}, above the term of the saved vote {vote}: a node saves a leader's vote before it writes any entry of that term, so the vote went backwards.");
        }

        if (_committed is { } committed && committed.Index == index && committed != id)
        {
            Report(StoreProblemKind.CommittedNotInLog, index, $"Group {_group}: the committed id is {committed}, but the log's entry {index} is {id}: a committed entry is never replaced.");
        }

        _lastDecoded = id;
    }

    /// <summary>
    /// At the group's end: its committed id, if the log was read far enough to tell, is in the
    /// log (checked where its entry was read), is the purged id, or lies below the purge.
    /// </summary>
    private void CheckCommittedReached()
    {
        if (_committed is not { } committed || _committedIndexRead || !_logEndKnown || !_purgedKnown)
        {
            return;
        }

        if (_purged is { } purged && committed.Index <= purged.Index)
        {
            if (committed.Index == purged.Index && committed != purged)
            {
                Report(StoreProblemKind.CommittedNotInLog, committed.Index, $"Group {_group}: the committed id is {committed}, but the log is purged up to {purged}, another entry at the same index: a committed entry is never replaced.");
            }

            return;
        }

        // Missing inside the log, the committed entry is in a hole, reported as such.
        if (_previousIndex is { } last && committed.Index < last)
        {
            return;
        }

        string end = _previousIndex is { } lastIndex ? $"the log ends at index {lastIndex}"
            : _purged is { } p ? $"the log holds no entry after its purged id {p}"
            : "the log holds no entry";
        Report(StoreProblemKind.CommittedNotInLog, committed.Index, $"Group {_group}: the committed id is {committed}, but {end}: the committed entry is lost.");
    }

    /// <summary>RocksDB found a block of the group's keys in one column family damaged, and the rest of that family's keys of the group were not read.</summary>
    public void BlockDamaged(bool inLog, string message)
    {
        if (!inLog)
        {
            // The last purged record may have been in the block: then where the log must start is unknown.
            _purgedKnown &= _purged is not null;
            Report(StoreProblemKind.DamagedBlock, null, $"Group {_group}: RocksDB found a block of its meta records damaged; what it held was not checked ({message}).");
            return;
        }

        _logEndKnown = false;
        ulong? next = _previousIndex is { } previous ? previous + 1 : ExpectedIndex();
        string from = next is { } index ? $"index {index}" : "its first entry";
        Report(StoreProblemKind.DamagedBlock, next, $"Group {_group}: RocksDB found a block of its log damaged, from {from} on: the entries it held were not checked ({message}).");
    }

    /// <summary>A key in <paramref name="family"/> that belongs to no group: shorter than a group id.</summary>
    public void KeyOutsideGroups(string family, ReadOnlySpan<byte> key) =>
        Report(StoreProblemKind.ForeignKey, ofGroup: false, null, $"The key {Convert.ToHexString(key)} in column family '{family}' is not a key of the {_space} key space: {key.Length} bytes, shorter than a group id.");

    /// <summary>
    /// RocksDB found a block of <paramref name="family"/> damaged where the walk cannot tell which
    /// group's keys come next (after it skipped a damaged block, or among keys of no group): the
    /// family's keys after it were not read. Counted with the keys of no group.
    /// </summary>
    public void FamilyUnreadable(string family, bool inLog, ulong? afterGroup, string message)
    {
        _logUnread |= inLog;
        _metaUnread |= !inLog;
        string after = afterGroup is { } group ? $"after group {group}" : "at a key of no group";
        Report(StoreProblemKind.DamagedBlock, ofGroup: false, null, $"Column family '{family}': RocksDB found a block damaged {after}; nothing after it in the family was checked ({message}).");
    }

    /// <summary>The report of every check made.</summary>
    public StoreVerification Finish()
    {
        NoteUnlisted(null, _outsideGroups);
        return new StoreVerification(_space, _groupsChecked, _entriesChecked, _problemCount, _groupsWithProblems, _problems, _unlisted);
    }

    /// <summary>
    /// The index the group's next entry must have: after the previous one, or where the log
    /// starts (one past the purged index; 0 with nothing purged); null when that is not known.
    /// </summary>
    private ulong? ExpectedIndex() => _previousIndex is { } previous ? previous + 1 : _purgedKnown ? _purged.NextIndex() : null;

    /// <summary>
    /// Notes how many of <paramref name="groupId"/>'s problems (null: of the keys of no group) were
    /// left out of a listing that names some of them; those with none listed are only counted.
    /// </summary>
    private void NoteUnlisted(ulong? groupId, in ProblemTally tally)
    {
        if (tally.Found > tally.Listed && tally.Listed > 0)
        {
            _unlisted.Add(new UnlistedProblems(groupId, tally.Found - tally.Listed));
        }
    }

    /// <summary>A problem of the group being checked.</summary>
    private void Report(StoreProblemKind kind, ulong? index, string description)
    {
        Debug.Assert(_inGroup, "a group's problem is reported while the group is checked");
        Report(kind, ofGroup: true, index, description);
    }

    /// <param name="kind">What is wrong.</param>
    /// <param name="ofGroup">Whether it is the group's being checked, or of keys that belong to no group.</param>
    /// <param name="index">The log index it concerns, if any.</param>
    /// <param name="description">What is wrong, for an operator.</param>
    private void Report(StoreProblemKind kind, bool ofGroup, ulong? index, string description)
    {
        _problemCount++;
        ref var tally = ref ofGroup ? ref _groupTally : ref _outsideGroups;
        if (tally.Found++ == 0 && ofGroup)
        {
            _groupsWithProblems++;
        }

        if (tally.Listed < _limits.MaxProblemsPerGroup && _problems.Count < _limits.MaxProblems)
        {
            _problems.Add(new StoreProblem(kind, ofGroup ? _group : null, index, description));
            tally.Listed++;
        }
    }

    /// <summary>The problems of one group (or of the keys outside every group): found, and listed.</summary>
    private struct ProblemTally
    {
        public long Found;
        public int Listed;
    }
}
