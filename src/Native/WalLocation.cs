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
/// <para>A WAL beside the data is recorded as such (<see cref="BesideTheData"/>), not by its
/// path: a store copied, moved or restored elsewhere finds its WAL in its own directory, and
/// never reads another database's. A WAL elsewhere is recorded by its full path. A record of
/// the database's own full path (record format of earlier versions) is read as written, and
/// rewritten as "beside the data" at the next open in place.</para>
/// <para>RocksDB's own WAL tracking (<c>track_and_verify_wals</c>) refuses such opens too, but
/// the crash test lost an acknowledged write once with it on, in 1,400 kills (none in 9,000
/// without): it is not used.</para>
/// </remarks>
internal static class WalLocation
{
    /// <summary>The file, in the database directory, that names the WAL directory last opened with.</summary>
    public const string FileName = "RAFTKIT-WAL-DIRECTORY";

    /// <summary>What the file holds for a WAL in the database's own directory, wherever that directory is now.</summary>
    private const string BesideTheData = ".";

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
                $"Open it with WalDirectory = '{last}', or move the WAL files to '{configured}' first: opened as asked, RocksDB would start without them and drop the writes they hold. " +
                $"If this directory is a copy of another store, copy that store's WAL files to '{configured}' instead: two databases must not share a WAL directory."));
        }
    }

    /// <summary>After the database at <paramref name="path"/> opened: records where its WAL is now.</summary>
    public static void Record(string path, string? walDirectory)
    {
        string configured = Normalize(walDirectory ?? path);
        string record = configured == Normalize(path) ? BesideTheData : configured;
        if (ReadRecord(path) == record)
        {
            return;
        }

        // Written aside and renamed over, so a crash leaves the old name or the new, whole. Losing
        // the update costs nothing: the check only refuses while the old directory holds WAL files.
        string file = Path.Combine(path, FileName);
        string written = file + ".new";
        File.WriteAllText(written, record);
        File.Move(written, file, overwrite: true);
    }

    /// <summary>
    /// Where the WAL of the database at <paramref name="path"/> is: the directory recorded at its
    /// last open, or beside its data, where <paramref name="path"/> is now, if that is what was
    /// recorded or nothing was.
    /// </summary>
    public static string Of(string path) => ReadRecord(path) is { } recorded && recorded != BesideTheData ? recorded : Normalize(path);

    private static string? ReadRecord(string path)
    {
        string file = Path.Combine(path, FileName);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private static string Normalize(string directory) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
}
