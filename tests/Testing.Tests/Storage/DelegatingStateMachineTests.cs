using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Types;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Storage;

public sealed class DelegatingStateMachineTests
{
    private static readonly KvTypeConfig Types = KvTypeConfig.Instance;

    /// <summary>Every call not overridden reaches the inner state machine: apply, applied state, snapshots built, received and installed.</summary>
    [Fact]
    public async Task EveryCallNotOverriddenIsTheInnerStateMachines()
    {
        var inner = new InMemoryStateMachine();
        var machine = new DelegatingStateMachine<KvResponse, KvSnapshot>(inner);
        var responder = new OneShotResponder<KvResponse>();

        await machine.ApplyAsync(new[] { new ApplyItem<KvResponse>(Entry.Normal(new LogId(1, 0, 1), Types.EncodeData(KvCommand.Set("a", "1"))), responder) });
        var built = await machine.BuildSnapshotAsync(force: true);
        var copy = new InMemoryStateMachine();
        var receiver = new DelegatingStateMachine<KvResponse, KvSnapshot>(copy);
        var received = await receiver.BeginReceivingSnapshotAsync();
        received.Append(built!.Data.Bytes.Span);
        await receiver.InstallSnapshotAsync(built.Meta, received);

        Assert.Equal(new KvResponse(null), await responder.Task);
        Assert.True(inner.TryGetValue("a", out var value) && value == "1");
        Assert.Equal(new LogId(1, 0, 1), (await machine.GetAppliedStateAsync()).LastApplied);
        Assert.Equal(built.Meta, (await machine.GetCurrentSnapshotAsync())!.Meta);
        Assert.True(copy.TryGetValue("a", out value) && value == "1");
        Assert.Equal(built.Meta, (await receiver.GetCurrentSnapshotAsync())!.Meta);
    }

    /// <summary>The in-memory state machine declines an unforced build its current snapshot covers, and builds a forced one.</summary>
    [Fact]
    public async Task ABuildIsForcedOnTheInnerStateMachineExactlyWhenItIsForced()
    {
        var machine = new DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine());
        await machine.BuildSnapshotAsync(force: true);

        Assert.Null(await machine.BuildSnapshotAsync(force: false));
        Assert.NotNull(await machine.BuildSnapshotAsync(force: true));
    }

    [Fact]
    public async Task ACancelledTokenCancelsEveryInnerCall()
    {
        var machine = new DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine());
        var built = await machine.BuildSnapshotAsync(force: true);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        var token = cancellation.Token;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.GetAppliedStateAsync(token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>>.Empty, token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.BuildSnapshotAsync(force: true, token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.BeginReceivingSnapshotAsync(token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.InstallSnapshotAsync(built!.Meta, new KvSnapshot(), token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => machine.GetCurrentSnapshotAsync(token).AsTask());
    }

    [Fact]
    public async Task AnOverriddenCallReplacesTheInnerOneAndTheRestStay()
    {
        var inner = new InMemoryStateMachine();
        var machine = new RefusingSnapshots(inner);

        await Assert.ThrowsAsync<IOException>(() => machine.BuildSnapshotAsync(force: true).AsTask());
        Assert.Null(await machine.GetCurrentSnapshotAsync());
        Assert.Equal((await inner.GetAppliedStateAsync()).LastApplied, (await machine.GetAppliedStateAsync()).LastApplied);
    }

    [Fact]
    public void AnInnerStateMachineIsRequired() =>
        Assert.Throws<ArgumentNullException>(() => new DelegatingStateMachine<KvResponse, KvSnapshot>(null!));

    private sealed class RefusingSnapshots(InMemoryStateMachine inner) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public override ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<Snapshot<KvSnapshot>?>(new IOException("snapshot disk full"));
    }
}
