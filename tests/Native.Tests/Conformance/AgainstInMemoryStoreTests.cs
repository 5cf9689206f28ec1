using System.Text;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Coalescing;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.Storage;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests.Conformance;

/// <summary>
/// The store against the test kit's in-memory store, which keeps the contract in plain
/// collections: a seeded random run of writes (valid and not), multi-group batches, reads and
/// group removals goes to both, and every outcome, a result or the type of error, must match.
/// The RocksDB store is closed and reopened between phases of the run, and has a 64 KiB write
/// buffer, so its answers come from what it cached, from memtables and from table files alike.
/// </summary>
/// <remarks>Steps per run: 3,000; more with RAFTKIT_MODEL_STEPS. Replay with RAFTKIT_SEED.</remarks>
public sealed class AgainstInMemoryStoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// One writer drives a few groups; several writers drive three groups each at once, through
    /// the store's write coalescer, each group still written in order by its own writer. The store
    /// is reopened between phases of 1 to 200 steps a writer.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.GroupPrefixed, 1)]
    [InlineData(LogKeySpace.Flat, 1)]
    [InlineData(LogKeySpace.GroupPrefixed, 4)]
    public async Task ARandomRunOfWritesReadsAndReopensMatchesTheInMemoryStore(LogKeySpace space, int writers)
    {
        int seed = TestSeed.FromEnvironmentOrNew();
        int steps = int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_MODEL_STEPS"), out int s) ? s : 3_000;
        output.WriteLine($"{space}, {writers} writers: seed {seed} (replay: RAFTKIT_SEED={seed}; with several writers, each writer's own steps replay), {steps} steps a writer");

        var options = new RocksDbLogStoreOptions { KeySpace = space, FlatGroupId = 7, WriteBufferSize = 64 << 10 };
        var runs = new Run[writers];
        for (int w = 0; w < writers; w++)
        {
            ulong[] groups = space == LogKeySpace.Flat ? [options.FlatGroupId] : writers == 1 ? [1, 2, 3, 1_000_000] : [(ulong)(3 * w) + 1, (ulong)(3 * w) + 2, 1_000_000 + (ulong)w];
            runs[w] = new Run(new Random(seed + w), groups, removable: space == LogKeySpace.GroupPrefixed);
        }

        string path = _dir.Sub("db");
        var phases = new Random(seed);
        var store = RocksDbLogStore.Open(path, options);
        await using var model = new InMemoryMultiGroupLogStore();
        int reopens = 0;
        try
        {
            for (int done = 0; done < steps; reopens++)
            {
                int phase = Math.Min(steps - done, 1 + phases.Next(200));
                await Task.WhenAll(runs.Select(run => Task.Run(() => run.StepAsync(model, store, phase, seed))));
                done += phase;
                await store.DisposeAsync();
                store = RocksDbLogStore.Open(path, options);
            }

            foreach (var run in runs)
            {
                foreach (ulong group in run.Groups)
                {
                    Assert.Equal(await Outcome(() => Run.DescribeGroup(model, group)), await Outcome(() => Run.DescribeGroup(store, group)));
                }
            }
        }
        finally
        {
            await store.DisposeAsync();
        }

        foreach (var run in runs)
        {
            output.WriteLine($"{run.Counts}; {run.Refused} refused by both");
        }

        output.WriteLine($"{reopens} reopens");
    }

    /// <summary>
    /// A batch with two bad operations, one that only the log's order refutes (a gap after the
    /// group's last entry, a purge behind its purged id) and, after it, one bad on its own (an
    /// index past <see cref="LogIndexes.Max"/>): both stores refuse it with the same error, the
    /// argument error, and leave every group as it was.
    /// </summary>
    [Theory]
    [InlineData("append after a gap, then an index past the end of the range")]
    [InlineData("purge behind the purged id, then a truncation past the end of the range")]
    public async Task ABatchWithAnOrderErrorBeforeAnArgumentErrorIsRefusedAlikeByBothStores(string batchName)
    {
        var batch = new LogWriteBatch();
        if (batchName.StartsWith("append", StringComparison.Ordinal))
        {
            batch.Append(1, new[] { Entry.Blank(new LogId(1, 0, 9)) });
            batch.Append(2, new[] { Entry.Blank(new LogId(1, 0, LogIndexes.Max + 1)) });
        }
        else
        {
            batch.Purge(1, new LogId(1, 0, 0));
            batch.TruncateAfter(2, new LogId(1, 0, ulong.MaxValue));
        }

        await using var model = new InMemoryMultiGroupLogStore();
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var outcomes = new List<string>();
        foreach (var target in new IMultiGroupLogStore[] { model, store })
        {
            var setup = new LogWriteBatch();
            setup.Append(1, new[] { Entry.Blank(new LogId(1, 0, 0)), Entry.Blank(new LogId(1, 0, 1)), Entry.Blank(new LogId(1, 0, 2)) });
            setup.Purge(1, new LogId(1, 0, 1));
            setup.Append(2, new[] { Entry.Blank(new LogId(1, 0, 0)) });
            await target.WriteAsync(setup);
            string before = await Run.DescribeGroup(target, 1) + " | " + await Run.DescribeGroup(target, 2);

            outcomes.Add(await Outcome(async () =>
            {
                await target.WriteAsync(batch);
                return "written";
            }));

            Assert.Equal(before, await Run.DescribeGroup(target, 1) + " | " + await Run.DescribeGroup(target, 2));
        }

        Assert.True(outcomes[0] == outcomes[1], $"{batchName}:\n  in-memory: {outcomes[0]}\n  RocksDB:   {outcomes[1]}");
        Assert.Equal("throws ArgumentOutOfRangeException", outcomes[1]);
    }

    /// <summary>
    /// An index past <see cref="LogIndexes.Max"/>, through any entry point: both stores refuse it
    /// with an argument error that names the caller's parameter, the group and the index, and
    /// leave the group as it was.
    /// </summary>
    [Theory]
    [InlineData("append", "entries")]
    [InlineData("truncate", "logId")]
    [InlineData("purge", "logId")]
    [InlineData("batch append", "batch")]
    [InlineData("batch truncate", "batch")]
    [InlineData("batch purge", "batch")]
    public async Task AnIndexPastTheRangeIsRefusedNamingTheGroupAndIndexAlikeByBothStores(string operation, string paramName)
    {
        const ulong Group = 12;
        const ulong Index = LogIndexes.Max + 1;
        var bad = new LogId(1, 0, Index);
        await using var model = new InMemoryMultiGroupLogStore();
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        foreach (var target in new IMultiGroupLogStore[] { model, store })
        {
            var log = target.ForGroup(Group);
            await log.AppendAsync(new[] { Entry.Blank(new LogId(1, 0, 0)) }, IgnoringCallback.Instance);
            string before = await Run.DescribeGroup(target, Group);
            var batch = new LogWriteBatch();
            Func<Task> call = operation switch
            {
                "append" => async () => await log.AppendAsync(new[] { Entry.Blank(bad) }, IgnoringCallback.Instance),
                "truncate" => async () => await log.TruncateAfterAsync(bad),
                "purge" => async () => await log.PurgeAsync(bad),
                _ => async () => await target.WriteAsync(batch),
            };
            switch (operation)
            {
                case "batch append":
                    batch.Append(Group, new[] { Entry.Blank(bad) });
                    break;
                case "batch truncate":
                    batch.TruncateAfter(Group, bad);
                    break;
                case "batch purge":
                    batch.Purge(Group, bad);
                    break;
            }

            var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(call);
            string where = $"{operation} in the {target.GetType().Name}";
            Assert.True(error.ParamName == paramName, $"{where}: the error names parameter '{error.ParamName}', not '{paramName}'");
            Assert.True(error.Message.Contains($"Group {Group}", StringComparison.Ordinal), $"{where}: the message does not name the group: {error.Message}");
            Assert.True(error.Message.Contains($"{Index}", StringComparison.Ordinal), $"{where}: the message does not name the index: {error.Message}");
            Assert.Equal(before, await Run.DescribeGroup(target, Group));
        }
    }

    /// <summary>
    /// A refused call fails the task it returns, in both stores: it does not throw from the call.
    /// Code written against the in-memory store (start several writes, then await them; or start
    /// one, do other work, then await it) must see the same errors in the same place when it runs
    /// on the RocksDB store.
    /// </summary>
    [Fact]
    public async Task ARefusedCallFailsItsTaskRatherThanThrowingFromTheCallInBothStores()
    {
        await using var model = new InMemoryMultiGroupLogStore();
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var outcomes = new List<string>[] { [], [] };
        var targets = new IMultiGroupLogStore[] { model, store };
        for (int t = 0; t < targets.Length; t++)
        {
            var target = targets[t];
            var log = target.ForGroup(1);
            await log.AppendAsync(new[] { Entry.Blank(new LogId(1, 0, 0)), Entry.Blank(new LogId(1, 0, 1)), Entry.Blank(new LogId(1, 0, 2)) }, IgnoringCallback.Instance);
            await log.PurgeAsync(new LogId(1, 0, 1));
            var removed = target.ForGroup(2);
            await removed.SaveVoteAsync(new Vote(1, 1));
            await target.RemoveGroupAsync(2);
            var badBatch = new LogWriteBatch();
            badBatch.SaveVote(3, new Vote(1, 1));
            badBatch.Append(1, new[] { Entry.Blank(new LogId(1, 0, 9)) });

            (string Name, Func<Task> Call)[] calls =
            [
                ("append after a gap", () => log.AppendAsync(new[] { Entry.Blank(new LogId(1, 0, 9)) }, IgnoringCallback.Instance).AsTask()),
                ("append without a callback", () => log.AppendAsync(new[] { Entry.Blank(new LogId(1, 0, 3)) }, null!).AsTask()),
                ("purge behind the purged id", () => log.PurgeAsync(new LogId(1, 0, 0)).AsTask()),
                ("truncate everything behind a purge", () => log.TruncateAfterAsync(null).AsTask()),
                ("read an inverted range", () => log.TryGetLogEntriesAsync(2, 1).AsTask()),
                ("log id past the end", () => log.GetLogIdAsync(7).AsTask()),
                ("batch with an append after a gap", () => target.WriteAsync(badBatch).AsTask()),
                ("batch that is null", () => target.WriteAsync(null!).AsTask()),
                ("vote through a removed group's view", () => removed.SaveVoteAsync(new Vote(2, 2)).AsTask()),
                ("read through a removed group's view", () => removed.ReadVoteAsync().AsTask()),
            ];
            foreach (var (name, call) in calls)
            {
                outcomes[t].Add(await WhereItFails(name, call));
            }

            await target.DisposeAsync();
            foreach (var (name, call) in new (string, Func<Task>)[]
            {
                ("append to a closed store", () => log.AppendAsync(new[] { Entry.Blank(new LogId(1, 0, 3)) }, IgnoringCallback.Instance).AsTask()),
                ("list groups of a closed store", () => target.ListGroupsAsync().AsTask()),
                ("remove a group of a closed store", () => target.RemoveGroupAsync(1).AsTask()),
                ("read the log state of a closed store", () => log.GetLogStateAsync().AsTask()),
            })
            {
                outcomes[t].Add(await WhereItFails(name, call));
            }
        }

        Assert.Equal(outcomes[0], outcomes[1]);
        Assert.DoesNotContain(outcomes[1], outcome => outcome.Contains("threw", StringComparison.Ordinal) || outcome.EndsWith("nothing", StringComparison.Ordinal));
    }

    /// <summary>Whether <paramref name="call"/> threw from the call itself or failed the task it returned, and with what.</summary>
    private static async Task<string> WhereItFails(string name, Func<Task> call)
    {
        Task task;
        try
        {
            task = call();
        }
        catch (Exception e)
        {
            return $"{name}: threw {e.GetType().Name} from the call";
        }

        var error = await Record.ExceptionAsync(() => task);
        return $"{name}: failed its task with {error?.GetType().Name ?? "nothing"}";
    }

    /// <summary>The operation's result, or the type of the error it threw.</summary>
    private static async Task<string> Outcome(Func<Task<string>> operation)
    {
        try
        {
            return await operation();
        }
        catch (RaftStorageException e)
        {
            return $"throws {e.GetType().Name}";
        }
        catch (ArgumentException e)
        {
            return $"throws {e.GetType().Name}";
        }
    }

    /// <summary>One writer: draws each operation from what the in-memory store holds now, and runs it on both stores.</summary>
    private sealed class Run(Random random, ulong[] groups, bool removable)
    {
        private readonly Dictionary<string, int> _counts = [];
        private readonly Queue<string> _trail = new();
        private ulong _term = 1;
        private int _step;

        /// <summary>The groups this run writes; no other run touches them.</summary>
        public ulong[] Groups => groups;

        /// <summary>Operations both stores refused, with the same error.</summary>
        public int Refused { get; private set; }

        /// <summary>A term has one leader, as in Raft, so ids order by index within a log.</summary>
        private ulong Leader => _term % 3;

        public string Counts => string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"));

        private async Task<(string Name, Func<IMultiGroupLogStore, Task<string>> Operation)> NextAsync(IMultiGroupLogStore model)
        {
            ulong group = groups[random.Next(groups.Length)];
            var state = await model.ForGroup(group).GetLogStateAsync();
            long purged = state.LastPurgedLogId is { } p ? (long)p.Index : -1;
            long last = state.LastLogId is { } l ? (long)l.Index : -1;
            ulong next = (ulong)(last + 1);
            _term += random.Next(20) == 0 ? 1UL : 0;
            int dice = random.Next(100);
            var (name, operation) = dice switch
            {
                < 30 => Append(group, Entries(next, 1 + random.Next(4))),
                < 33 => Append(group, Entries(next == 0 || random.Next(2) == 0 ? next + 1 : next - 1, 1 + random.Next(3))),
                < 39 => await TruncateAsync(model, group, purged, last),
                < 44 => await PurgeAsync(model, group, purged, last),
                < 48 => Vote(group),
                < 52 => Committed(group, last),
                < 58 => ("batch", Batch()),
                < 60 when removable => ("remove", RemoveGroup(group)),
                < 70 => ReadRange(group, purged, last),
                < 78 => ReadLogId(group, purged, last),
                < 84 => ReadLimited(group, purged, last),
                < 88 => ReadStream(group, purged, last),
                < 91 => ReadLeaderBoundedStream(group, purged, last),
                _ => ("read state", (Func<IMultiGroupLogStore, Task<string>>)(store => DescribeGroup(store, group))),
            };
            string kind = name.Split(' ')[0];
            _counts[kind] = _counts.GetValueOrDefault(kind) + 1;
            return ($"{name} in group {group}", operation);
        }

        /// <summary>Runs <paramref name="steps"/> operations on both stores, each outcome compared.</summary>
        public async Task StepAsync(IMultiGroupLogStore model, IMultiGroupLogStore store, int steps, int seed)
        {
            for (int end = _step + steps; _step < end; _step++)
            {
                var (name, operation) = await NextAsync(model);
                string expected = await Outcome(() => operation(model));
                string actual = await Outcome(() => operation(store));
                Refused += expected.StartsWith("throws", StringComparison.Ordinal) ? 1 : 0;
                _trail.Enqueue($"{_step}: {name}: {expected}");
                if (_trail.Count > 12)
                {
                    _trail.Dequeue();
                }

                Assert.True(expected == actual, $"step {_step} (seed {seed}, groups {string.Join(",", groups)}), {name}:\n  in-memory: {expected}\n  RocksDB:   {actual}\nthe steps before:\n{string.Join("\n", _trail.SkipLast(1))}");
            }

            _trail.Enqueue($"{_step}: reopen");
        }

        /// <summary>Everything the store says about a group: its log state, every entry, vote and committed id.</summary>
        public static async Task<string> DescribeGroup(IMultiGroupLogStore store, ulong group)
        {
            var log = store.ForGroup(group);
            var state = await log.GetLogStateAsync();
            var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue - 2);
            return $"state {state}, vote {await log.ReadVoteAsync()}, committed {await log.ReadCommittedAsync()}, entries {Describe(entries)}";
        }

        private Entry[] Entries(ulong first, int count)
        {
            var entries = new Entry[count];
            for (int i = 0; i < count; i++)
            {
                var logId = new LogId(_term, Leader, first + (ulong)i);
                entries[i] = random.Next(20) switch
                {
                    0 => Entry.Blank(logId),
                    1 => Entry.ForMembership(logId, Membership.FromVoters([1, 2, (ulong)(3 + random.Next(3))], [9])),
                    _ => Entry.Normal(logId, Payload(RandomDataLength())),
                };
            }

            return entries;
        }

        /// <summary>Mostly short, as log entries are, and one in four long enough to be passed from the caller's memory rather than staged.</summary>
        private int RandomDataLength() =>
            random.Next(4) == 0 ? random.Next(WriteRequest.CallerDataMinBytes, 2 * WriteRequest.CallerDataMinBytes) : random.Next(WriteRequest.CallerDataMinBytes);

        private byte[] Payload(int length)
        {
            var payload = new byte[length];
            random.NextBytes(payload);
            return payload;
        }

        private static (string, Func<IMultiGroupLogStore, Task<string>>) Append(ulong group, Entry[] entries) => ($"append {entries[0].LogId}..{entries[^1].Index}", async store =>
        {
            await store.ForGroup(group).AppendAsync(entries, IgnoringCallback.Instance);
            return "appended";
        });

        /// <summary>
        /// After an existing entry (by its id, or now and then by its index under another leader,
        /// whose word the stores must not take for the stored entry's), after none, or after an
        /// index past the end, or before the purged ones.
        /// </summary>
        private async Task<(string, Func<IMultiGroupLogStore, Task<string>>)> TruncateAsync(IMultiGroupLogStore model, ulong group, long purged, long last)
        {
            LogId? after = random.Next(10) == 0 ? null : await IdAtAsync(model, group, RandomIndex(purged - 1, last + 2));
            if (after is { } named && random.Next(5) == 0)
            {
                after = new LogId(named.Term + 7, named.LeaderId.NodeId + 1, named.Index);
            }

            return ($"truncate after {after}", async store =>
            {
                await store.ForGroup(group).TruncateAfterAsync(after);
                return "truncated";
            });
        }

        private async Task<(string, Func<IMultiGroupLogStore, Task<string>>)> PurgeAsync(IMultiGroupLogStore model, ulong group, long purged, long last)
        {
            var upTo = await IdAtAsync(model, group, RandomIndex(purged - 1, last + 3));
            return ($"purge up to {upTo}", async store =>
            {
                await store.ForGroup(group).PurgeAsync(upTo);
                return "purged";
            });
        }

        private (string, Func<IMultiGroupLogStore, Task<string>>) Vote(ulong group)
        {
            var vote = new Vote(new LeaderId(_term, Leader), random.Next(2) == 0);
            return ($"vote {vote}", async store =>
            {
                await store.ForGroup(group).SaveVoteAsync(vote);
                return "voted";
            });
        }

        private (string, Func<IMultiGroupLogStore, Task<string>>) Committed(ulong group, long last)
        {
            LogId? committed = random.Next(8) == 0 ? null : new LogId(_term, Leader, RandomIndex(-1, last));
            return ($"committed {committed}", async store =>
            {
                await store.ForGroup(group).SaveCommittedAsync(committed);
                return "saved";
            });
        }

        /// <summary>
        /// Appends, votes, committed ids, truncations and purges over several groups, each checked
        /// against the ones before it in the batch; sometimes one of them is bad (an append with a
        /// hole, a truncation below the purged entries), which must fail the whole batch.
        /// </summary>
        private Func<IMultiGroupLogStore, Task<string>> Batch()
        {
            var plan = new List<(ulong Group, int Kind, int Count, bool Bad, double At)>();
            for (int i = 1 + random.Next(4); i > 0; i--)
            {
                plan.Add((groups[random.Next(groups.Length)], random.Next(5), 1 + random.Next(3), random.Next(25) == 0, random.NextDouble()));
            }

            var vote = new Vote(new LeaderId(_term, Leader), true);
            var committed = new LogId(_term, Leader, (ulong)random.Next(5));
            var payloads = plan.Select(_ => Payload(RandomDataLength())).ToArray();
            return async store =>
            {
                // Build from the store's own state, as a host does, so that both stores get the same
                // batch. Per group: the last index once the batch's earlier operations apply, the
                // last purged index, and the last index whose entry is still the one stored before
                // the batch (a truncation earlier in the batch lowers it: entries past it may be
                // appended again, under other ids).
                var batch = new LogWriteBatch();
                var ends = new Dictionary<ulong, (long Last, long Purged, long Kept)>();
                for (int i = 0; i < plan.Count; i++)
                {
                    var (group, kind, count, bad, at) = plan[i];
                    var log = store.ForGroup(group);
                    if (!ends.TryGetValue(group, out var end))
                    {
                        var state = await log.GetLogStateAsync();
                        long last = state.LastLogId is { } l ? (long)l.Index : -1;
                        end = (last, state.LastPurgedLogId is { } p ? (long)p.Index : -1, last);
                    }

                    // Truncations and purges name an entry stored before the batch and not replaced
                    // since: the contract asks for a stored entry's id, which GetLogIdAsync reads.
                    long lo = end.Purged + 1, hi = Math.Min(end.Kept, end.Last);
                    ulong target = (ulong)(lo + (long)(at * (hi - lo + 1)));
                    switch (kind)
                    {
                        case 0:
                            ulong first = (ulong)(end.Last + 1) + (bad ? 1UL : 0);
                            batch.Append(group, Enumerable.Range(0, count).Select(e => Entry.Normal(new LogId(_term, Leader, first + (ulong)e), payloads[i])).ToArray());
                            end.Last = (long)first + count - 1;
                            break;
                        case 1:
                            batch.SaveVote(group, vote);
                            break;
                        case 3 when bad && end.Purged > 0:
                            batch.TruncateAfter(group, new LogId(_term, Leader, (ulong)end.Purged - 1));
                            break;
                        case 3 when hi >= lo:
                            var kept = await log.GetLogIdAsync(target);
                            batch.TruncateAfter(group, random.Next(5) == 0 ? new LogId(kept.Term + 7, kept.LeaderId.NodeId + 1, kept.Index) : kept);
                            end.Last = (long)target;
                            end.Kept = Math.Min(end.Kept, (long)target);
                            break;
                        case 4 when hi >= lo:
                            batch.Purge(group, await log.GetLogIdAsync(target));
                            end.Purged = (long)target;
                            break;
                        default:
                            batch.SaveCommitted(group, committed);
                            break;
                    }

                    ends[group] = end;
                }

                await store.WriteAsync(batch);
                return "written";
            };
        }

        /// <summary>Removes the group; answers whether the store still lists it (other runs' groups come and go meanwhile).</summary>
        private static Func<IMultiGroupLogStore, Task<string>> RemoveGroup(ulong group) => async store =>
        {
            await store.RemoveGroupAsync(group);
            return (await store.ListGroupsAsync()).Contains(group) ? "still listed" : "removed";
        };

        private (string, Func<IMultiGroupLogStore, Task<string>>) ReadRange(ulong group, long purged, long last)
        {
            ulong start = RandomIndex(purged - 2, last + 2);
            ulong end = random.Next(10) == 0 ? ulong.MaxValue - 2 : start + (ulong)random.Next(12);
            return ($"read [{start}, {end})", async store => Describe(await store.ForGroup(group).TryGetLogEntriesAsync(start, end)));
        }

        /// <summary>A limited read may stop early (the stores' bounds differ), but what it returns must be a prefix of the full read.</summary>
        private (string, Func<IMultiGroupLogStore, Task<string>>) ReadLimited(ulong group, long purged, long last)
        {
            ulong start = RandomIndex(purged - 2, last + 2);
            return ($"read limited from {start}", async store =>
            {
                var reader = store.ForGroup(group);
                var limited = await reader.LimitedGetLogEntriesAsync(start, ulong.MaxValue - 2);
                var all = await reader.TryGetLogEntriesAsync(start, ulong.MaxValue - 2);
                bool prefix = (limited.Count > 0 || all.Count == 0) && limited.SequenceEqual(all.Take(limited.Count));
                return prefix ? $"a prefix of {all.Count} entries" : $"not a prefix: {Describe(limited)} of {Describe(all)}";
            });
        }

        /// <summary>Streams a range through a reader taken from the log (a reader may outlive writes).</summary>
        private (string, Func<IMultiGroupLogStore, Task<string>>) ReadStream(ulong group, long purged, long last)
        {
            ulong start = RandomIndex(purged - 2, last + 2);
            ulong end = random.Next(4) == 0 ? ulong.MaxValue - 2 : start + (ulong)random.Next(40);
            return ($"stream [{start}, {end})", async store =>
            {
                var entries = new List<Entry>();
                await foreach (var entry in store.ForGroup(group).GetReader().EntriesStreamAsync(start, end))
                {
                    entries.Add(entry);
                }

                return Describe(entries);
            });
        }

        /// <summary>Streams from the start for the leader of the current term (committed or not in the vote) or another.</summary>
        private (string, Func<IMultiGroupLogStore, Task<string>>) ReadLeaderBoundedStream(ulong group, long purged, long last)
        {
            ulong start = RandomIndex(purged - 2, last + 2);
            var leader = new LeaderId(_term, random.Next(4) == 0 ? Leader + 1 : Leader);
            return ($"stream for {leader} from {start}", async store =>
            {
                var entries = new List<Entry>();
                await foreach (var entry in store.ForGroup(group).LeaderBoundedStreamAsync(leader, start, ulong.MaxValue - 2))
                {
                    entries.Add(entry);
                }

                return Describe(entries);
            });
        }

        private (string, Func<IMultiGroupLogStore, Task<string>>) ReadLogId(ulong group, long purged, long last)
        {
            ulong index = RandomIndex(purged - 1, last + 1);
            return ($"read the id at {index}", async store => (await store.ForGroup(group).GetLogIdAsync(index)).ToString());
        }

        /// <summary>The id of the entry at <paramref name="index"/> if it exists, else an id with the current term.</summary>
        private async Task<LogId> IdAtAsync(IMultiGroupLogStore model, ulong group, ulong index)
        {
            try
            {
                return await model.ForGroup(group).GetLogIdAsync(index);
            }
            catch (LogEntryNotFoundException)
            {
                return new LogId(_term, Leader, index);
            }
        }

        /// <summary>An index in <c>[from, to]</c>, clamped at 0.</summary>
        private ulong RandomIndex(long from, long to) => (ulong)Math.Max(0, random.NextInt64(from, Math.Max(from, to) + 1));

        private static string Describe(IReadOnlyList<Entry> entries)
        {
            var text = new StringBuilder().Append(entries.Count).Append(" [");
            foreach (var entry in entries)
            {
                text.Append(entry.LogId).Append(' ').Append(entry.Kind).Append(' ').Append(Convert.ToHexString(entry.Data.Span)).Append(' ').Append(entry.Membership).Append("; ");
            }

            return text.Append(']').ToString();
        }
    }
}
