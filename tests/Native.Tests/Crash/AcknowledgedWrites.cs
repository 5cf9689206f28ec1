using RaftToolkit.Core.Storage;
using RaftToolkit.Native.CrashChild;

namespace RaftToolkit.Native.Tests.Crash;

/// <summary>
/// What the crash child acknowledged over all its runs, and what it issued last in each group,
/// and the check that a reopened store holds exactly what that allows:
/// <list type="bullet">
/// <item>each group's log contiguous, starting right after its last purged id (a purge deletes
/// and records in one atomic batch), every entry with the payload of its index and term;</item>
/// <item>every acknowledged entry present with its term, unless an issued truncation or purge
/// took it; no entry that an acknowledged truncation removed back;</item>
/// <item>no purge lost or beyond what was issued, and no vote lost or gone backwards;</item>
/// <item>after an acknowledged group removal, nothing of the group from before it: no entry, no
/// purge, no vote.</item>
/// </list>
/// A group's writes are issued one at a time, so after a kill at most one of them is in doubt: an
/// append (its entries may be there), a vote (either term), or a truncation, purge or removal,
/// which the child announces before issuing (it happened entirely or not at all).
/// </summary>
internal sealed class AcknowledgedWrites
{
    private readonly GroupModel[] _groups = Enumerable.Range(0, CrashChildRuns.Groups).Select(_ => new GroupModel()).ToArray();

    /// <summary>Acknowledged writes recorded so far.</summary>
    public long Count { get; private set; }

    /// <summary>Acknowledged truncations, purges and group removals recorded so far.</summary>
    public long Deletions { get; private set; }

    /// <summary>Acknowledged group removals recorded so far.</summary>
    public long Removals { get; private set; }

    /// <summary>Truncations, purges and removals in doubt when a store was checked, and how many of them had happened.</summary>
    public (long InDoubt, long Happened) Doubtful { get; private set; }

    public void Record(IEnumerable<GroupReport> reports)
    {
        foreach (var report in reports)
        {
            _groups[report.Group].Apply(report);
            Count += report.Kind is ReportKind.TruncateIssued or ReportKind.PurgeIssued or ReportKind.RemoveIssued ? 0 : 1;
            Deletions += report.Kind is ReportKind.Truncated or ReportKind.Purged or ReportKind.Removed ? 1 : 0;
            Removals += report.Kind is ReportKind.Removed ? 1 : 0;
        }
    }

    /// <summary>
    /// Opens the store at <paramref name="path"/> and checks every group; <paramref name="when"/>
    /// names the moment in failures. <paramref name="nextFirstTerm"/> is where the next run's terms
    /// start, for its entries and its votes.
    /// </summary>
    public async Task VerifyAsync(string path, string when, ulong nextFirstTerm)
    {
        await using var store = RocksDbLogStore.Open(path);

        // Before the groups are read: a verification reads the database as the kill left it.
        var verification = await store.VerifyAsync();
        Assert.True(verification.IsClean, $"{when}: the store does not verify clean: {verification.ProblemCount} problems, the first: {string.Join(" | ", verification.Problems.Take(5))}");
        for (int g = 0; g < _groups.Length; g++)
        {
            if (await _groups[g].VerifyAsync(store.ForGroup((ulong)g), g, when, nextFirstTerm) is { } happened)
            {
                Doubtful = (Doubtful.InDoubt + 1, Doubtful.Happened + (happened ? 1 : 0));
            }
        }
    }

    private sealed class GroupModel
    {
        /// <summary>
        /// The term of every entry known to be in the log, by index: acknowledged ones, those a
        /// check found, and 0 for entries below a purge or written but never acknowledged that
        /// later acknowledged ones follow.
        /// </summary>
        private readonly List<ulong> _terms = [];

        private long _purged = -1;

        /// <summary>Entries after the last acknowledged truncation or removal are of this term or more.</summary>
        private ulong _termFloor;

        private ulong _voteTerm;
        private ulong _voteTermSeen;

        /// <summary>A vote saved since the last acknowledged removal is of this term or more.</summary>
        private ulong _voteFloor;

        /// <summary>The truncation, purge or removal issued and not acknowledged, if any.</summary>
        private GroupReport? _inDoubt;

        private long Last => _terms.Count - 1;

        public void Apply(GroupReport report)
        {
            switch (report.Kind)
            {
                case ReportKind.Append:
                    Assert.True((long)report.First > Last, $"the child appended at {report.First} over acknowledged entries up to {Last}");
                    CoverUpTo((long)report.First - 1);
                    for (ulong index = report.First; index <= report.Last; index++)
                    {
                        _terms.Add(report.Term);
                    }

                    break;
                case ReportKind.Vote:
                    _voteTerm = Math.Max(_voteTerm, report.Term);
                    break;
                case ReportKind.TruncateIssued or ReportKind.PurgeIssued or ReportKind.RemoveIssued:
                    _inDoubt = report;
                    break;
                case ReportKind.Removed:
                    Forget(report.Term, report.Last);
                    break;
                case ReportKind.Truncated:
                    CoverUpTo((long)report.First);
                    _terms.RemoveRange((int)report.First + 1, _terms.Count - (int)report.First - 1);
                    _termFloor = report.Term;
                    _inDoubt = null;
                    break;
                case ReportKind.Purged:
                    // A purge past the last entry moves the log on to the purged id.
                    CoverUpTo((long)report.First);
                    _purged = (long)report.First;
                    _inDoubt = null;
                    break;
            }
        }

        /// <summary>
        /// Entries up to <paramref name="index"/> are in the log: those past the acknowledged
        /// ones were written by a run that was killed before it acknowledged them (term unknown).
        /// </summary>
        private void CoverUpTo(long index)
        {
            while (Last < index)
            {
                _terms.Add(0);
            }
        }

        /// <summary>The group was removed: nothing of it from before may come back.</summary>
        private void Forget(ulong termFloor, ulong voteFloor)
        {
            _terms.Clear();
            _purged = -1;
            _termFloor = termFloor;
            _voteTerm = 0;
            _voteTermSeen = 0;
            _voteFloor = voteFloor;
            _inDoubt = null;
        }

        /// <summary>Checks the group; returns whether the truncation, purge or removal in doubt happened (null: none was).</summary>
        public async Task<bool?> VerifyAsync(IRaftLogStore log, int g, string when, ulong nextFirstTerm)
        {
            var state = await log.GetLogStateAsync();
            var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue - 2);
            long purged = state.LastPurgedLogId is { } lastPurged ? (long)lastPurged.Index : -1;
            long last = state.LastLogId is { } lastLogId ? (long)lastLogId.Index : -1;
            ulong voteTerm = (await log.ReadVoteAsync())?.Term ?? 0;
            string context = $"{when}: group {g}";

            // A removal in doubt happened if nothing of the group is left. The next run's entries and
            // votes start above everything before, so nothing from before may come back.
            if (_inDoubt is { Kind: ReportKind.RemoveIssued } && last == -1 && purged == -1 && voteTerm == 0)
            {
                Forget(nextFirstTerm, nextFirstTerm);
                return true;
            }

            // A purge deletes its entries and records its id in one batch: the log starts right after it.
            long first = entries.Count > 0 ? (long)entries[0].Index : last + 1;
            Assert.True(first == purged + 1, $"{context}: the log starts at {first}, but entries up to {purged} are purged");
            Assert.True(first + entries.Count - 1 == last, $"{context}: the log's state says it ends at {last}, but its entries end at {first + entries.Count - 1}");

            var purge = _inDoubt is { Kind: ReportKind.PurgeIssued } issuedPurge ? issuedPurge : (GroupReport?)null;
            Assert.True(purged == _purged || (purge is { } p && purged == (long)p.First), $"{context}: purged up to {purged}, acknowledged {_purged}, issued {Describe(purge)}");

            long kept = Last;
            if (_inDoubt is { Kind: ReportKind.TruncateIssued } truncation && last < Last)
            {
                Assert.True(last == (long)truncation.First, $"{context}: the log ends at {last}, short of the acknowledged {Last}, and the truncation issued was after {truncation.First}");
                kept = last;
            }
            else
            {
                Assert.True(last >= Last, $"{context}: lost acknowledged entries: the log ends at {last}, acknowledged up to {Last}");
            }

            for (int i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                Assert.True(entry.Index == (ulong)(first + i), $"{context}: the log is not contiguous at position {i} (index {entry.Index})");
                Assert.True(entry.Data.Span.SequenceEqual(CrashPayload.For((ulong)g, entry.Index, entry.LogId.LeaderId.Term)), $"{context}: entry {entry.Index} has the wrong payload");
                if ((long)entry.Index <= kept)
                {
                    ulong term = _terms[(int)entry.Index];
                    Assert.True(term == 0 || entry.LogId.LeaderId.Term == term, $"{context}: entry {entry.Index} is of term {entry.LogId.LeaderId.Term}, acknowledged of term {term}");
                }
                else
                {
                    Assert.True(entry.LogId.LeaderId.Term >= _termFloor, $"{context}: entry {entry.Index} of term {entry.LogId.LeaderId.Term} is back after an acknowledged truncation (later entries are of term {_termFloor} or more)");
                }
            }

            Assert.True(voteTerm >= _voteTerm, $"{context}: lost an acknowledged vote: has term {voteTerm}, acknowledged {_voteTerm}");
            Assert.True(voteTerm == 0 || voteTerm >= _voteFloor, $"{context}: a vote of term {voteTerm} is back after an acknowledged removal (later votes are of term {_voteFloor} or more)");
            Assert.True(voteTerm >= _voteTermSeen, $"{context}: vote went backwards from term {_voteTermSeen} to {voteTerm}");
            _voteTermSeen = voteTerm;

            // What the write in doubt did is now known; the next run starts from it. Every entry
            // found is remembered with its term, those past the acknowledged ones included (an
            // append in flight at the kill): an entry a later acknowledged truncation removes
            // must not come back in their place.
            bool? happened = _inDoubt is null ? null : purged != _purged || kept < Last;
            _purged = purged;
            _terms.RemoveRange((int)(kept + 1), _terms.Count - (int)(kept + 1));
            CoverUpTo(last);
            foreach (var entry in entries)
            {
                _terms[(int)entry.Index] = entry.LogId.LeaderId.Term;
            }

            _inDoubt = null;
            return happened;
        }

        private static string Describe(GroupReport? report) => report is { } r ? $"up to {r.First}" : "none";
    }
}
