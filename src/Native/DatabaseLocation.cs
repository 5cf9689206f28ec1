namespace RaftToolkit.Native;

/// <summary>How the store's errors say which database they are about.</summary>
internal static class DatabaseLocation
{
    /// <summary><c> at 'path'</c> for a database opened by path; nothing for one handed to the store.</summary>
    public static string Suffix(string? path) => path is null ? string.Empty : $" at '{path}'";
}
