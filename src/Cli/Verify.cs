using System.Globalization;
using RaftToolkit.Native.Verification;

namespace RaftToolkit.Cli;

/// <summary>Checks every key and record of a store without writing to it, and prints what is wrong.</summary>
internal static class Verify
{
    /// <summary>The exit code when the store was read to the end and problems were found.</summary>
    public const int ProblemsFound = 3;

    public static async Task<int> RunAsync(StoreSelection selection)
    {
        string path = selection.Path;
        StoreVerification report;
        var opened = ReadOnlyStore.Open(selection);
        await using (opened.ConfigureAwait(false))
        {
            report = await opened.Store.VerifyAsync().ConfigureAwait(false);
        }

        var culture = CultureInfo.InvariantCulture;
        string verdict = report.IsClean
            ? "no problems"
            : string.Format(culture, "{0:N0} {1} in {2:N0} {3}", report.ProblemCount, Plural(report.ProblemCount, "problem"), report.GroupsWithProblems, Plural(report.GroupsWithProblems, "group"));
        Console.WriteLine(string.Format(culture, "{0}: {1} key space, {2:N0} {3}, {4:N0} {5} checked: {6}", path, report.KeySpace, report.GroupsChecked, Plural(report.GroupsChecked, "group"), report.EntriesChecked, Plural(report.EntriesChecked, "entry", "entries"), verdict));
        foreach (var problem in report.Problems)
        {
            Console.WriteLine(problem.Description);
        }

        long unlistedInListedGroups = 0;
        foreach (var unlisted in report.Unlisted)
        {
            string owner = unlisted.GroupId is { } group ? string.Format(culture, "Group {0}", group) : "Keys of no group";
            Console.WriteLine(string.Format(culture, "{0}: {1:N0} more {2} not listed.", owner, unlisted.Count, Plural(unlisted.Count, "problem")));
            unlistedInListedGroups += unlisted.Count;
        }

        long rest = report.UnlistedCount - unlistedInListedGroups;
        if (rest > 0)
        {
            Console.WriteLine(string.Format(culture, "{0:N0} more {1} in groups not listed (the listing stops at {2:N0}).", rest, Plural(rest, "problem"), VerificationLimits.Default.MaxProblems));
        }

        return report.IsClean ? 0 : ProblemsFound;
    }

    private static string Plural(long count, string one, string? many = null) => count == 1 ? one : many ?? one + "s";
}
