using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <summary>
/// The storage conformance suite (see CONFORMANCE.md): every case of openraft's storage suite
/// plus the multi-group cases, each an xunit fact named after the case. Derive one test class per
/// store, supply <see cref="CreateFactory"/>, and the test runner reports every case on its own.
/// </summary>
/// <typeparam name="TResponse">The state machine's response type.</typeparam>
/// <typeparam name="TSnapshot">The state machine's snapshot type.</typeparam>
/// <remarks>
/// Notation in the case descriptions: <c>(t,i)</c> is a log id of leader (term t, node 0) at index i.
/// Each case opens fresh storage from a new factory, uses group <see cref="GroupUnderTest"/> and
/// new state machines from <see cref="CreateStateMachine"/>, and disposes what it opened.
/// </remarks>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>The group the single-group cases run against.</summary>
    public const ulong GroupUnderTest = 7;

    /// <summary>How long one case may take before it fails as hung.</summary>
    protected virtual TimeSpan CaseTimeout => TimeSpan.FromSeconds(120);

    /// <summary>How many other groups <see cref="GroupIsolation"/> fills and checks.</summary>
    protected virtual int IsolationGroupCount => 16;

    /// <summary>How many groups <see cref="ConcurrentGroups"/> appends to at once.</summary>
    protected virtual int ConcurrentGroupCount => 16;

    /// <summary>How many appends each group of <see cref="ConcurrentGroups"/> issues, in order.</summary>
    protected virtual int ConcurrentAppendsPerGroup => 40;

    /// <summary>
    /// A factory over new, empty storage; called once per case. A factory that is
    /// <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/> is disposed when the case ends,
    /// after the store: the place to delete temporary directories.
    /// </summary>
    protected abstract IConformanceStoreFactory CreateFactory();

    /// <summary>A new, empty state machine for the cases that need one.</summary>
    protected abstract IRaftStateMachine<TResponse, TSnapshot> CreateStateMachine();

    /// <summary>The log id of leader (<paramref name="term"/>, node 0) at <paramref name="index"/>.</summary>
    protected static LogId Id(ulong term, ulong index) => new(term, 0, index);

    /// <summary>A blank entry at <c>(term, index)</c>.</summary>
    protected static Entry Blank(ulong term, ulong index) => Entry.Blank(Id(term, index));

    /// <summary>A membership entry at <c>(term, index)</c> with one voter set.</summary>
    protected static Entry MembershipEntry(ulong term, ulong index, params ulong[] voters) =>
        Entry.ForMembership(Id(term, index), Membership.FromVoters(voters));

    /// <summary>
    /// Appends <paramref name="entries"/> to <paramref name="log"/>, waits until they are durable,
    /// and checks that the store reported the write once (its callback, by the contract).
    /// </summary>
    protected static async Task AppendAsync(IRaftLogStore log, params Entry[] entries)
    {
        ArgumentNullException.ThrowIfNull(log);
        var flush = new FlushAwaiter();
        await log.AppendAsync(entries, flush).ConfigureAwait(false);
        await flush.Flushed.ConfigureAwait(false);
        Expect(1, flush.ReportCount, $"times the store reported the append of {entries.Length} entries durable");
    }

    /// <summary>Applies <paramref name="entries"/> to <paramref name="stateMachine"/> with no responders.</summary>
    protected static async Task ApplyAsync(IRaftStateMachine<TResponse, TSnapshot> stateMachine, params Entry[] entries)
    {
        var items = new ApplyItem<TResponse>[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            items[i] = new ApplyItem<TResponse>(entries[i], null);
        }

        await stateMachine.ApplyAsync(items).ConfigureAwait(false);
    }

    /// <summary>The CONFORMANCE.md helper: append <c>(0,0)</c>, then <c>(1,1)</c>…<c>(1,10)</c> one at a time, then save vote (term 1, node 0).</summary>
    protected static async Task Feed10Async(IRaftLogStore log)
    {
        await AppendAsync(log, Blank(0, 0)).ConfigureAwait(false);
        for (ulong i = 1; i <= 10; i++)
        {
            await AppendAsync(log, Blank(1, i)).ConfigureAwait(false);
        }

        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
    }

    /// <summary>Runs one case against fresh storage, then disposes what the case left open.</summary>
    protected async Task RunCaseAsync(Func<ConformanceCase, Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var timeout = new CancellationTokenSource(CaseTimeout);
        var factory = CreateFactory();
        var context = new ConformanceCase(factory, this, timeout.Token);
        try
        {
            await context.OpenAsync().ConfigureAwait(false);
            await body(context).WaitAsync(CaseTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"The case did not finish within {CaseTimeout}: the store hung ({e.Message}).");
        }
        finally
        {
            await context.DisposeAsync().ConfigureAwait(false);

            // The storage outlives each store (reopening needs it); the factory owns it and
            // deletes it here, if it wants to (a temporary directory, say).
            if (factory is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (factory is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    /// <summary>The storage and state machines one case runs against.</summary>
    protected sealed class ConformanceCase : IAsyncDisposable
    {
        private readonly IConformanceStoreFactory _factory;
        private readonly StorageConformanceSuite<TResponse, TSnapshot> _suite;
        private IConformanceStore? _store;

        internal ConformanceCase(IConformanceStoreFactory factory, StorageConformanceSuite<TResponse, TSnapshot> suite, CancellationToken token)
        {
            ArgumentNullException.ThrowIfNull(factory, "CreateFactory()");
            _factory = factory;
            _suite = suite;
            Token = token;
        }

        /// <summary>Cancelled when the case runs out of time.</summary>
        public CancellationToken Token { get; }

        /// <summary>The open store.</summary>
        public IConformanceStore Store => _store ?? throw new InvalidOperationException("The store is closed; call ReopenAsync.");

        /// <summary>The log of <see cref="GroupUnderTest"/>.</summary>
        public IRaftLogStore Log => Store.Group(GroupUnderTest);

        /// <summary>A new state machine.</summary>
        public IRaftStateMachine<TResponse, TSnapshot> NewStateMachine() => _suite.CreateStateMachine();

        /// <summary>Opens the storage (first time) or reopens it.</summary>
        public async Task OpenAsync()
        {
            _store = await _factory.OpenAsync(Token).ConfigureAwait(false);
            Assert.True(_store is not null, "IConformanceStoreFactory.OpenAsync returned null.");
        }

        /// <summary>Closes the store, keeping the handles handed out (to check they now fail).</summary>
        public async Task CloseAsync()
        {
            if (_store is { } store)
            {
                _store = null;
                await store.DisposeAsync().ConfigureAwait(false);
            }
        }

        /// <summary>Closes the store and opens the same storage again.</summary>
        public async Task ReopenAsync()
        {
            await CloseAsync().ConfigureAwait(false);
            await OpenAsync().ConfigureAwait(false);
        }

        /// <inheritdoc />
        public ValueTask DisposeAsync() => new(CloseAsync());
    }

    /// <summary>Fails with "<paramref name="what"/>: expected …, got …" unless the values are equal.</summary>
    protected static void Expect<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Assert.Fail($"{what}: expected {Show(expected)}, got {Show(actual)}.");
        }
    }

    /// <summary>Fails with <paramref name="what"/> unless <paramref name="condition"/> holds.</summary>
    protected static void Expect(bool condition, string what) => Assert.True(condition, what);

    /// <summary>Fails unless <paramref name="actual"/> holds exactly <paramref name="expected"/>, in order.</summary>
    protected static void ExpectIds(IReadOnlyList<LogId> expected, IReadOnlyList<LogId> actual, string what)
    {
        bool same = expected.Count == actual.Count;
        for (int i = 0; same && i < expected.Count; i++)
        {
            same = expected[i] == actual[i];
        }

        if (!same)
        {
            Assert.Fail($"{what}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}].");
        }
    }

    /// <summary>Fails unless the entries have exactly the ids <paramref name="expected"/>, in order.</summary>
    protected static void ExpectEntryIds(IReadOnlyList<LogId> expected, IReadOnlyList<Entry> actual, string what) =>
        ExpectIds(expected, IdsOf(actual), what);

    /// <summary>Fails unless <paramref name="call"/> fails with <typeparamref name="TException"/>.</summary>
    protected static async Task<TException> ExpectFailureAsync<TException>(Func<Task> call, string what)
        where TException : Exception
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: expected {typeof(TException).Name}, got {e.GetType().Name}: {e.Message}");
        }

        Assert.Fail($"{what}: expected {typeof(TException).Name}, but the call succeeded.");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>The ids of <paramref name="entries"/>.</summary>
    protected static List<LogId> IdsOf(IReadOnlyList<Entry> entries)
    {
        var ids = new List<LogId>(entries.Count);
        foreach (var entry in entries)
        {
            ids.Add(entry.LogId);
        }

        return ids;
    }

    /// <summary>The ids <c>(term, from)</c> … <c>(term, to)</c>.</summary>
    protected static List<LogId> IdRange(ulong term, ulong from, ulong to)
    {
        var ids = new List<LogId>();
        for (ulong i = from; i <= to; i++)
        {
            ids.Add(Id(term, i));
        }

        return ids;
    }

    /// <summary>Reads a whole stream, recording entries and errors (at most a few errors, so a stream that keeps failing ends).</summary>
    protected static async Task<(List<Entry> Entries, List<Exception> Errors)> DrainAsync(IAsyncEnumerable<Entry> stream)
    {
        var entries = new List<Entry>();
        var errors = new List<Exception>();
        var enumerator = stream.GetAsyncEnumerator();
        try
        {
            while (errors.Count < 4)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    entries.Add(enumerator.Current);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    errors.Add(e);
                }
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }

        return (entries, errors);
    }

    /// <summary>
    /// Everything a group's log holds, in its encoded form (<see cref="ModelFormats"/>), so two
    /// images compare byte for byte.
    /// </summary>
    protected sealed record GroupImage(ulong GroupId, byte[] LogState, byte[] Vote, byte[] Committed, byte[] Entries, string Description)
    {
        /// <summary>Reads the image of <paramref name="log"/>.</summary>
        public static async Task<GroupImage> CaptureAsync(ulong groupId, IRaftLogStore log)
        {
            ArgumentNullException.ThrowIfNull(log);
            var state = await log.GetLogStateAsync().ConfigureAwait(false);
            var vote = await log.ReadVoteAsync().ConfigureAwait(false);
            var committed = await log.ReadCommittedAsync().ConfigureAwait(false);
            var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue).ConfigureAwait(false);

            var voteBytes = new System.Buffers.ArrayBufferWriter<byte>();
            WireWriter.WriteBoolean(voteBytes, vote.HasValue);
            if (vote is { } v)
            {
                ModelFormats.WriteVote(voteBytes, v);
            }

            var entryBytes = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var entry in entries)
            {
                ModelFormats.WriteEntry(entryBytes, entry);
            }

            string description = $"state {state}, vote {(vote is { } shown ? shown.ToString() : "none")}, committed {Show(committed)}, "
                + $"entries [{string.Join(", ", entries)}]";
            return new GroupImage(
                groupId,
                WireCodec.Encode(1, state, ModelFormats.LogState),
                voteBytes.WrittenSpan.ToArray(),
                WireCodec.Encode(1, committed, ModelFormats.OptionalLogId),
                entryBytes.WrittenSpan.ToArray(),
                description);
        }

        /// <summary>Fails, naming the part that differs, unless <paramref name="now"/> is byte-for-byte this image.</summary>
        public void ExpectUnchanged(GroupImage now, string when)
        {
            ArgumentNullException.ThrowIfNull(now);
            string? broken =
                !LogState.AsSpan().SequenceEqual(now.LogState) ? "log state (last purged / last log id)"
                : !Vote.AsSpan().SequenceEqual(now.Vote) ? "vote"
                : !Committed.AsSpan().SequenceEqual(now.Committed) ? "committed id"
                : !Entries.AsSpan().SequenceEqual(now.Entries) ? "entries"
                : null;
            if (broken is not null)
            {
                Assert.Fail($"Group {GroupId}: its {broken} changed {when}.\n  before: {Description}\n  after:  {now.Description}");
            }
        }
    }

    private static string Show<T>(T value) => value switch
    {
        null => "none",
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object>()) + "]",
        _ => value.ToString() ?? "null",
    };
}

/// <summary>
/// The storage conformance suite with the test kit's key-value state machine
/// (<see cref="InMemoryStateMachine"/>) for the state-machine cases: derive from it and supply
/// <see cref="StorageConformanceSuite{TResponse, TSnapshot}.CreateFactory"/>. To check your own
/// state machine as well, override <see cref="CreateStateMachine"/>, or derive from
/// <see cref="StorageConformanceSuite{TResponse, TSnapshot}"/> with its types.
/// </summary>
public abstract class StorageConformanceSuite : StorageConformanceSuite<KvResponse, KvSnapshot>
{
    /// <inheritdoc />
    protected override IRaftStateMachine<KvResponse, KvSnapshot> CreateStateMachine() => new InMemoryStateMachine();
}
