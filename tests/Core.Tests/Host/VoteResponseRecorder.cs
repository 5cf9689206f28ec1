using System.Collections.Concurrent;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Transport;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// Bound to a bare peer endpoint that plays a candidate: keeps the last vote response each group
/// sent it, granted or not (a test asks for votes by hand and reads the answers here).
/// </summary>
internal sealed class VoteResponseRecorder : IMessageReceiver
{
    /// <summary>The last vote response received, by group.</summary>
    public ConcurrentDictionary<ulong, VoteResponse> ByGroup { get; } = new();

    public bool Granted(ulong groupId) => ByGroup.TryGetValue(groupId, out var response) && response.Granted;

    public void Receive(ulong fromNode, List<GroupMessage> batch)
    {
        foreach (var message in batch)
        {
            if (message.Message is VoteResponse response)
            {
                ByGroup[message.GroupId] = response;
            }
        }
    }
}
