using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Types;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Storage;

public sealed class InMemoryStateMachineTests
{
    private static readonly KvTypeConfig Types = KvTypeConfig.Instance;

    private static Entry Command(ulong index, KvCommand command) => Entry.Normal(new LogId(1, 0, index), Types.EncodeData(command));

    private static async Task<KvResponse[]> ApplyAll(InMemoryStateMachine sm, params Entry[] entries)
    {
        var responders = entries.Select(_ => new OneShotResponder<KvResponse>()).ToArray();
        var items = entries.Select((e, i) => new ApplyItem<KvResponse>(e, responders[i])).ToArray();
        await sm.ApplyAsync(items);
        return await Task.WhenAll(responders.Select(r => r.Task));
    }

    [Fact]
    public async Task SetGetDelete_AnswerWithThePreviousOrCurrentValue()
    {
        var sm = new InMemoryStateMachine();

        var responses = await ApplyAll(
            sm,
            Command(1, KvCommand.Set("a", "1")),
            Command(2, KvCommand.Set("a", "2")),
            Command(3, KvCommand.Get("a")),
            Command(4, KvCommand.Delete("a")),
            Command(5, KvCommand.Get("a")));

        Assert.Equal([new(null), new("1"), new("2"), new("2"), new(null)], responses);
        Assert.False(sm.TryGetValue("a", out _));
        Assert.Equal(new LogId(1, 0, 5), (await sm.GetAppliedStateAsync()).LastApplied);
    }

    [Fact]
    public async Task MembershipEntries_AnswerWithNoValueAndChangeTheMembership()
    {
        var sm = new InMemoryStateMachine();
        var membership = Membership.FromVoters(1, 2);

        var responses = await ApplyAll(sm, Entry.ForMembership(new LogId(1, 0, 1), membership));

        Assert.Equal([KvResponse.None], responses);
        Assert.Equal(new StoredMembership(new LogId(1, 0, 1), membership), (await sm.GetAppliedStateAsync()).LastMembership);
    }

    [Fact]
    public async Task AnUndecodablePayload_FailsItsResponderAndOnlyMovesTheAppliedId()
    {
        var sm = new InMemoryStateMachine();
        var responder = new OneShotResponder<KvResponse>();

        await sm.ApplyAsync(new[] { new ApplyItem<KvResponse>(Entry.Normal(new LogId(1, 0, 1), new byte[] { 99 }), responder) });

        await Assert.ThrowsAsync<CodecException>(() => responder.Task);
        Assert.Equal(0, sm.Count);
        Assert.Equal(new LogId(1, 0, 1), (await sm.GetAppliedStateAsync()).LastApplied);
    }

    [Fact]
    public async Task Apply_RejectsAnEntryNotAfterTheLastAppliedAndAppliesNothingOfTheBatch()
    {
        var sm = new InMemoryStateMachine();
        await ApplyAll(sm, Command(5, KvCommand.Set("a", "1")));

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await sm.ApplyAsync(new[] { new ApplyItem<KvResponse>(Command(6, KvCommand.Set("b", "2")), null), new ApplyItem<KvResponse>(Command(5, KvCommand.Set("c", "3")), null) }));

        Assert.False(sm.TryGetValue("b", out _));
        Assert.Equal(new LogId(1, 0, 5), (await sm.GetAppliedStateAsync()).LastApplied);
    }

    [Fact]
    public async Task BuildSnapshot_NotForced_DeclinesWhenNothingWasAppliedSinceTheLastOne()
    {
        var sm = new InMemoryStateMachine();
        await ApplyAll(sm, Command(1, KvCommand.Set("a", "1")));
        var first = await sm.BuildSnapshotAsync(force: false);

        var unchanged = await sm.BuildSnapshotAsync(force: false);
        await ApplyAll(sm, Command(2, KvCommand.Set("a", "2")));
        var changed = await sm.BuildSnapshotAsync(force: false);

        Assert.NotNull(first);
        Assert.Null(unchanged);
        Assert.NotNull(changed);
        Assert.Equal(new LogId(1, 0, 2), changed!.Meta.LastLogId);
        Assert.NotEqual(first!.Meta.SnapshotId, changed.Meta.SnapshotId);
    }

    [Fact]
    public async Task ASnapshotSentInChunks_InstallsTheLeadersData()
    {
        var leader = new InMemoryStateMachine();
        await ApplyAll(leader, Command(1, KvCommand.Set("x", "1")), Command(2, KvCommand.Set("y", "ü")), Command(3, KvCommand.Delete("x")), Command(4, KvCommand.Set("z", "")));
        var built = (await leader.BuildSnapshotAsync(force: true))!;
        var bytes = built.Data.Bytes.ToArray();

        var follower = new InMemoryStateMachine();
        var receiving = await follower.BeginReceivingSnapshotAsync();
        for (int offset = 0; offset < bytes.Length; offset += 3)
        {
            receiving.Append(bytes.AsSpan(offset, Math.Min(3, bytes.Length - offset)));
        }

        await follower.InstallSnapshotAsync(built.Meta, receiving);

        Assert.Equal(leader.Pairs().OrderBy(p => p.Key), follower.Pairs().OrderBy(p => p.Key));
        Assert.Equal(new AppliedState(new LogId(1, 0, 4), StoredMembership.Default), await follower.GetAppliedStateAsync());
        Assert.Equal(built.Meta, (await follower.GetCurrentSnapshotAsync())!.Meta);
    }

    [Fact]
    public async Task InstallingATruncatedSnapshot_FailsAndKeepsTheState()
    {
        var leader = new InMemoryStateMachine();
        await ApplyAll(leader, Command(1, KvCommand.Set("x", "1")));
        var built = (await leader.BuildSnapshotAsync(force: true))!;
        var follower = new InMemoryStateMachine();
        await ApplyAll(follower, Command(1, KvCommand.Set("mine", "kept")));
        var truncated = await follower.BeginReceivingSnapshotAsync();
        truncated.Append(built.Data.Bytes.Span[..^1]);

        await Assert.ThrowsAsync<CodecException>(async () => await follower.InstallSnapshotAsync(built.Meta, truncated));

        Assert.True(follower.TryGetValue("mine", out var value));
        Assert.Equal("kept", value);
        Assert.Null(await follower.GetCurrentSnapshotAsync());
    }

    [Fact]
    public void Snapshots_RoundTripThroughTheTypeConfigurationsSerializer()
    {
        var snapshot = KvSnapshot.Capture(new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });

        var decoded = WireCodec.Decode(1, WireCodec.Encode(1, snapshot, Types.SnapshotData), Types.SnapshotData);

        Assert.Equal(snapshot.Bytes.ToArray(), decoded.Bytes.ToArray());
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, decoded.ReadPairs());
    }

    [Theory]
    [InlineData(KvOperation.Set, "key", "value")]
    [InlineData(KvOperation.Get, "key", null)]
    [InlineData(KvOperation.Delete, "", null)]
    public void Commands_RoundTripThroughTheTypeConfiguration(KvOperation operation, string key, string? value)
    {
        var command = new KvCommand(operation, key, value);

        Assert.Equal(command, Types.DecodeData(Types.EncodeData(command)));
    }

    [Fact]
    public void ACommandWithAnUnknownOperation_IsRefusedAsInvalid()
    {
        var error = Assert.Throws<CodecException>(() => Types.DecodeData(new byte[] { 9, 0, 0, 0, 0 }));

        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void ResponsesAndNodes_RoundTripThroughTheTypeConfiguration()
    {
        var membership = Types.CreateMembership(new Dictionary<ulong, KvNode> { [1] = new("10.0.0.1:5000") });

        Assert.Equal(new KvNode("10.0.0.1:5000"), Types.GetNode(membership, 1));
        Assert.Equal(new KvResponse("v"), WireCodec.Decode(1, WireCodec.Encode(1, new KvResponse("v"), Types.AppDataResponse), Types.AppDataResponse));
        Assert.Equal(KvResponse.None, WireCodec.Decode(1, WireCodec.Encode(1, KvResponse.None, Types.AppDataResponse), Types.AppDataResponse));
    }
}
