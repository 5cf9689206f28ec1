using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// Receives the response to one proposal: the one-shot responder. The state machine calls
/// exactly one of its methods, once. If <see cref="IRaftStateMachine{TResponse, TSnapshot}.ApplyAsync"/>
/// throws, the host fails every responder of that call, so a responder ignores every call after its first.
/// </summary>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
public interface IResponder<in TResponse>
{
    /// <summary>The entry was applied and produced <paramref name="response"/>.</summary>
    void Complete(TResponse response);

    /// <summary>The entry will never be applied (or applying it failed).</summary>
    void Fail(Exception error);
}

/// <summary>A committed entry to apply, and who waits for its response (null when nobody does).</summary>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
/// <param name="Entry">The committed entry.</param>
/// <param name="Responder">The proposer's responder, if this node proposed the entry and still waits.</param>
public readonly record struct ApplyItem<TResponse>(Entry Entry, IResponder<TResponse>? Responder);

/// <summary>
/// The application's state machine as the Raft layer sees it (openraft's
/// <c>RaftStateMachine</c>): applied state, applying committed entries, and snapshots.
/// </summary>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
/// <typeparam name="TSnapshot">The type configuration's SnapshotData.</typeparam>
public interface IRaftStateMachine<TResponse, TSnapshot>
{
    /// <summary>The last applied log id and the last applied membership.</summary>
    ValueTask<AppliedState> GetAppliedStateAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies committed entries in order and answers each responder. Blank entries only move
    /// the applied id; membership entries also change the applied membership.
    /// </summary>
    /// <remarks>
    /// The host calls one apply at a time per state machine, and starts the applies of many
    /// groups before it waits for any. Await I/O rather than block on it: an apply still running a
    /// tick later holds only its own group, while one that blocks the calling thread holds every
    /// group of its worker.
    /// </remarks>
    ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<TResponse>> items, CancellationToken cancellationToken = default);

    /// <summary>
    /// Builds a snapshot of what is applied. Unless <paramref name="force"/> is set the builder
    /// may decline (returning null), for example when nothing changed since the last one.
    /// </summary>
    ValueTask<Snapshot<TSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default);

    /// <summary>An empty snapshot container that a snapshot arriving in chunks is written into.</summary>
    ValueTask<TSnapshot> BeginReceivingSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the state with <paramref name="snapshot"/>, described by <paramref name="meta"/>.</summary>
    ValueTask InstallSnapshotAsync(SnapshotMeta meta, TSnapshot snapshot, CancellationToken cancellationToken = default);

    /// <summary>The most recent snapshot built or installed, if any.</summary>
    ValueTask<Snapshot<TSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default);
}
