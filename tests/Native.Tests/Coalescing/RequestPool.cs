using Microsoft.Extensions.ObjectPool;
using RaftToolkit.Native.Coalescing;

namespace RaftToolkit.Native.Tests.Coalescing;

/// <summary>A pool of write requests, as the store keeps one, for tests that stage requests by hand.</summary>
internal static class RequestPool
{
    public static ObjectPool<WriteRequest> Create()
    {
        var policy = new Policy();
        policy.Pool = new DefaultObjectPool<WriteRequest>(policy);
        return policy.Pool;
    }

    private sealed class Policy : PooledObjectPolicy<WriteRequest>
    {
        public ObjectPool<WriteRequest>? Pool { get; set; }

        public override WriteRequest Create() => new(Pool!);

        public override bool Return(WriteRequest obj) => true;
    }
}
