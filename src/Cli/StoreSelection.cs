using System.Globalization;
using RaftToolkit.Native;

namespace RaftToolkit.Cli;

/// <summary>
/// Which store of a database <c>inspect</c>, <c>verify</c> and <c>entries</c> look at: its
/// directory, the column families it was opened with, and the group id a flat store stands for.
/// A database may hold several stores over different column families, and a flat store does not
/// record its group's id, so an operator names what the application configured
/// (<see cref="RocksDbLogStoreOptions"/>).
/// </summary>
internal sealed record StoreSelection(string Path, string LogFamily, string MetaFamily, ulong FlatGroupId)
{
    /// <summary>
    /// Parses <c>&lt;path&gt; [options]</c>, the arguments after the command's name; a command's own
    /// options, each taking a value, are handed to <paramref name="commandOptions"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No path, two paths, an unknown option or an option without its value.</exception>
    public static StoreSelection Parse(string command, ReadOnlySpan<string> args, IReadOnlyDictionary<string, Action<string>>? commandOptions = null)
    {
        string? path = null;
        string logFamily = RocksDbLogStoreOptions.DefaultLogColumnFamily;
        string metaFamily = RocksDbLogStoreOptions.DefaultMetaColumnFamily;
        ulong flatGroup = 0;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--log-family": logFamily = ValueOf(args, ref i); break;
                case "--meta-family": metaFamily = ValueOf(args, ref i); break;
                case "--flat-group":
                    flatGroup = ParseId("--flat-group", ValueOf(args, ref i));
                    break;
                case [ '-', '-', .. ] when commandOptions?.GetValueOrDefault(args[i]) is { } take:
                    take(ValueOf(args, ref i));
                    break;
                case [ '-', '-', .. ]: throw new ArgumentException($"Unknown {command} option '{args[i]}'.");
                default:
                    if (path is not null)
                    {
                        throw new ArgumentException($"{command} takes one store directory; '{args[i]}' is a second.");
                    }

                    path = args[i];
                    break;
            }
        }

        if (path is null)
        {
            throw new ArgumentException($"{command} needs the store's directory.");
        }

        if (logFamily == metaFamily)
        {
            throw new ArgumentException($"The log and meta column families must differ; both are '{logFamily}'.");
        }

        return new StoreSelection(path, logFamily, metaFamily, flatGroup);
    }

    /// <summary>Parses <paramref name="value"/>, given to <paramref name="option"/>, as a group id or log index.</summary>
    /// <exception cref="ArgumentException">It is not a whole number from 0 to <see cref="ulong.MaxValue"/>.</exception>
    public static ulong ParseId(string option, string value) =>
        ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong id)
            ? id
            : throw new ArgumentException($"{option} needs a whole number from 0 to {ulong.MaxValue}, not '{value}'.");

    private static string ValueOf(ReadOnlySpan<string> args, ref int i)
    {
        string name = args[i];
        if (++i >= args.Length || args[i].Length == 0)
        {
            throw new ArgumentException($"{name} needs a value.");
        }

        return args[i];
    }
}
