using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// The test key-value state machine: applies <see cref="KvCommand"/>s to an in-memory map,
/// tracks the applied id and membership, and builds and installs <see cref="KvSnapshot"/>s.
/// Thread-safe.
/// </summary>
public sealed class InMemoryStateMachine : IRaftStateMachine<KvResponse, KvSnapshot>
{
    private readonly object _sync = new();
    private readonly KvTypeConfig _types;

    /// <summary>The applied pairs; null until the first set, so an idle state machine (one per group) stays small.</summary>
    private Dictionary<string, string>? _data;
    private LogId? _lastApplied;

    /// <summary>The last applied membership and the entry that carried it, kept apart so applying one allocates nothing.</summary>
    private LogId? _membershipLogId;
    private Membership _membership = Membership.Empty;
    private Snapshot<KvSnapshot>? _current;
    private long _snapshotCount;

    /// <summary>Creates an empty state machine.</summary>
    /// <param name="types">The type configuration that decodes commands (the default one when null).</param>
    public InMemoryStateMachine(KvTypeConfig? types = null)
    {
        _types = types ?? KvTypeConfig.Instance;
    }

    /// <summary>How many keys are set.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _data?.Count ?? 0;
            }
        }
    }

    /// <summary>Reads <paramref name="key"/> from what is applied (a local, possibly stale read).</summary>
    public bool TryGetValue(string key, out string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_sync)
        {
            string? stored = null;
            bool found = _data?.TryGetValue(key, out stored) ?? false;
            value = stored;
            return found;
        }
    }

    /// <summary>A copy of every applied pair.</summary>
    public IReadOnlyDictionary<string, string> Pairs()
    {
        lock (_sync)
        {
            return _data is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(_data, StringComparer.Ordinal);
        }
    }

    /// <inheritdoc />
    public ValueTask<AppliedState> GetAppliedStateAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_sync)
        {
            return ValueTask.FromResult(new AppliedState(_lastApplied, LastMembership));
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A Normal entry whose payload is not a valid command fails its responder and changes
    /// nothing but the applied id: every replica applies the same bytes, so every replica skips it
    /// the same way.
    /// </remarks>
    /// <exception cref="ArgumentException">The entries are not in increasing index order after the last applied one; nothing was applied.</exception>
    public ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var span = items.Span;
            var completions = new List<(IResponder<KvResponse> Responder, KvResponse? Response, Exception? Error)>();
            lock (_sync)
            {
                ulong? previous = _lastApplied?.Index;
                foreach (ref readonly var item in span)
                {
                    if (previous is { } p && item.Entry.Index <= p)
                    {
                        throw new ArgumentException($"Entry {item.Entry.LogId} does not come after the last applied index {p}.", nameof(items));
                    }

                    previous = item.Entry.Index;
                }

                foreach (ref readonly var item in span)
                {
                    var entry = item.Entry;
                    KvResponse response = KvResponse.None;
                    Exception? error = null;
                    switch (entry.Kind)
                    {
                        case EntryKind.Normal:
                            try
                            {
                                response = Execute(_types.DecodeData(entry.Data.Span));
                            }
                            catch (CodecException e)
                            {
                                error = e;
                            }

                            break;
                        case EntryKind.Membership:
                            _membershipLogId = entry.LogId;
                            _membership = entry.Membership!;
                            break;
                    }

                    _lastApplied = entry.LogId;
                    if (item.Responder is { } responder)
                    {
                        completions.Add((responder, error is null ? response : null, error));
                    }
                }
            }

            // Outside the lock: a responder runs the proposer's code.
            foreach (var (responder, response, error) in completions)
            {
                if (error is not null)
                {
                    responder.Fail(error);
                }
                else
                {
                    responder.Complete(response!.Value);
                }
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    /// <remarks>Unless forced, declines when the current snapshot already covers the applied id.</remarks>
    public ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_sync)
        {
            if (!force && _current is { } current && current.Meta.LastLogId == _lastApplied)
            {
                return ValueTask.FromResult<Snapshot<KvSnapshot>?>(null);
            }

            _snapshotCount++;
            string id = $"{(_lastApplied is { } applied ? applied.ToString() : "none")}-{_snapshotCount}";
            var meta = new SnapshotMeta(_lastApplied, LastMembership, id);
            _current = new Snapshot<KvSnapshot>(meta, KvSnapshot.Capture(_data ?? []));
            return ValueTask.FromResult<Snapshot<KvSnapshot>?>(_current);
        }
    }

    /// <inheritdoc />
    public ValueTask<KvSnapshot> BeginReceivingSnapshotAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(new KvSnapshot());
    }

    /// <inheritdoc />
    /// <exception cref="CodecException">The snapshot's bytes are not a valid snapshot; nothing changed.</exception>
    public ValueTask InstallSnapshotAsync(SnapshotMeta meta, KvSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(meta);
            ArgumentNullException.ThrowIfNull(snapshot);
            cancellationToken.ThrowIfCancellationRequested();

            // Decoded before taking the lock and before changing anything: a bad snapshot leaves the state as it was.
            var pairs = snapshot.ReadPairs();
            lock (_sync)
            {
                _data = pairs.Count > 0 ? pairs : null;
                _lastApplied = meta.LastLogId;
                _membershipLogId = meta.LastMembership.LogId;
                _membership = meta.LastMembership.Membership;
                _current = new Snapshot<KvSnapshot>(meta, snapshot);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public ValueTask<Snapshot<KvSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_sync)
        {
            return ValueTask.FromResult(_current);
        }
    }

    private StoredMembership LastMembership => new(_membershipLogId, _membership);

    private KvResponse Execute(KvCommand command)
    {
        switch (command.Operation)
        {
            case KvOperation.Set:
            {
                var data = _data ??= new Dictionary<string, string>(StringComparer.Ordinal);
                data.TryGetValue(command.Key, out var previous);
                data[command.Key] = command.Value ?? string.Empty;
                return new KvResponse(previous);
            }

            case KvOperation.Delete:
            {
                string? previous = null;
                _data?.Remove(command.Key, out previous);
                return new KvResponse(previous);
            }

            default:
                string? value = null;
                return new KvResponse(_data?.TryGetValue(command.Key, out value) == true ? value : null);
        }
    }
}
