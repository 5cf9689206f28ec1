namespace RaftToolkit.Native;

/// <summary>
/// Remembers, in a file beside the database, which directory its write-ahead log is in, and
/// refuses to open the database with another one while that one still holds WAL files.
/// </summary>
/// <remarks>
/// <para>Why: acknowledged writes may live only in the WAL until their memtable is flushed.
/// Opened with another WAL directory (<see cref="RocksDbLogStoreOptions.WalDirectory"/> changed,
/// or dropped, between opens), RocksDB starts from the table files alone and drops those writes
/// without a word, votes among them: a node could vote twice in one term. Moving the WAL files
/// along with the setting is fine, and the check lets it through: it only refuses while the
/// directory last used still holds WAL files.</para>
/// <para>RocksDB's own WAL tracking (<c>track_and_verify_wals</c>) refuses such opens too, but
/// the crash test lost an acknowledged write once with it on, in 1,400 kills (none in 9,000
/// without): it is not used.</para>
/// </remarks>
internal static class WalLocation
{
    /// <summary>The file, in the database directory, that names the WAL directory last opened with.</summary>
    public const string FileName = "RAFTKIT-WAL-DIRECTORY";

    /// <summary>Before RocksDB opens the database at <paramref name="path"/>: refuses a WAL directory that does not hold its WAL.</summary>
    /// <exception cref="StoreOpenException">The database's WAL files are in another directory.</exception>
    public static void CheckBeforeOpen(string path, string? walDirectory)
    {
        if (!File.Exists(Path.Combine(path, "CURRENT")))
        {
            // A new database: it has no WAL anywhere yet.
            return;
        }

        string configured = Normalize(walDirectory ?? path);

        // A database opened before this file existed kept its WAL where it was told: beside its
        // data, unless the file's absence hides another setting, which nothing here can tell.
        string last = Of(path);
        if (last == configured || !Directory.Exists(last))
        {
            return;
        }

        int walFiles = Directory.GetFiles(last, "*.log").Length;
        if (walFiles > 0)
        {
            throw new StoreOpenException(path, new IOException(
                $"its write-ahead log is in '{last}' ({walFiles} WAL files), but the store was opened with the WAL in '{configured}'. " +
                $"Open it with WalDirectory = '{last}', or move the WAL files to '{configured}' first: opened as asked, RocksDB would start without them and drop the writes they hold."));
        }
    }

    /// <summary>After the database at <paramref name="path"/> opened: records where its WAL is now.</summary>
    public static void Record(string path, string? walDirectory)
    {
        string configured = Normalize(walDirectory ?? path);
        if (ReadRecorded(path) == configured)
        {
            return;
        }

        // Written aside and renamed over, so a crash leaves the old name or the new, whole. Losing
        // the update costs nothing: the check only refuses while the old directory holds WAL files.
        string file = Path.Combine(path, FileName);
        string written = file + ".new";
        File.WriteAllText(written, configured);
        File.Move(written, file, overwrite: true);
    }

    /// <summary>Where the WAL of the database at <paramref name="path"/> is: the directory recorded at its last open, or beside its data if none is.</summary>
    public static string Of(string path) => ReadRecorded(path) ?? Normalize(path);

    private static string? ReadRecorded(string path)
    {
        string file = Path.Combine(path, FileName);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private static string Normalize(string directory) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
}
