using System.Text;

namespace RaftToolkit.Native.Tests.Readme;

/// <summary>
/// Keeps the README's C# examples compiled: every <c>```csharp</c> block of README.md must equal
/// a <c>#region readme-…</c> of a source file in this folder, and every such region must still be
/// in the README, so an edit made on one side only fails here. Blocks and regions are compared
/// after trimming each line's trailing whitespace, removing their common indentation, and
/// dropping blank lines at either end.
/// </summary>
public sealed class ReadmeCodeBlockTests
{
    private const string RegionPrefix = "#region readme-";

    [Fact]
    public void EveryCSharpBlockOfTheReadmeIsACompiledRegion()
    {
        var blocks = ReadmeBlocks();
        var regions = Regions();
        Assert.NotEmpty(blocks);

        var failures = new List<string>();
        foreach (var block in blocks)
        {
            if (!regions.Any(r => r.Lines.SequenceEqual(block.Lines)))
            {
                failures.Add(Mismatch($"The README's csharp block at line {block.Line} (\"{block.Lines.FirstOrDefault()}\")", "README", block.Lines, "region", regions));
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [Fact]
    public void EveryReadmeRegionIsStillACSharpBlockOfTheReadme()
    {
        var blocks = ReadmeBlocks();
        var regions = Regions();
        Assert.NotEmpty(regions);

        var failures = new List<string>();
        foreach (var region in regions)
        {
            if (!blocks.Any(b => b.Lines.SequenceEqual(region.Lines)))
            {
                failures.Add(Mismatch($"Region {region.Name} ({region.Source}) (\"{region.Lines.FirstOrDefault()}\")", "region", region.Lines, "README", blocks));
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private sealed record Snippet(string Name, string Source, int Line, string[] Lines);

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RaftToolkit.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} holds RaftToolkit.sln.");
    }

    /// <summary>Every fenced block of README.md whose info string is csharp.</summary>
    private static List<Snippet> ReadmeBlocks()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        var blocks = new List<Snippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp")
            {
                continue;
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            Assert.True(end < lines.Length, $"The README's csharp block at line {start} is never closed.");
            blocks.Add(new Snippet($"README line {start}", "README.md", start, Normalize(lines[start..end])));
            i = end;
        }

        return blocks;
    }

    /// <summary>Every <c>#region readme-…</c> of the source files of this folder.</summary>
    private static List<Snippet> Regions()
    {
        string folder = Path.Combine(RepositoryRoot(), "tests", "Native.Tests", "Readme");
        var regions = new List<Snippet>();
        foreach (string file in Directory.GetFiles(folder, "*.cs"))
        {
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string marker = lines[i].Trim();
                if (!marker.StartsWith(RegionPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                int start = i + 1;
                int end = start;
                while (end < lines.Length && !lines[end].Trim().StartsWith("#endregion", StringComparison.Ordinal))
                {
                    Assert.False(lines[end].Trim().StartsWith("#region", StringComparison.Ordinal), $"{Path.GetFileName(file)}:{end + 1}: a region inside {marker}; readme regions do not nest.");
                    end++;
                }

                Assert.True(end < lines.Length, $"{Path.GetFileName(file)}:{start}: {marker} has no #endregion.");
                regions.Add(new Snippet(marker["#region ".Length..], $"{Path.GetFileName(file)}:{start}", start, Normalize(lines[start..end])));
                i = end;
            }
        }

        return regions;
    }

    /// <summary>The lines without trailing whitespace, common indentation, or blank lines at either end.</summary>
    private static string[] Normalize(string[] lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).ToList();
        while (trimmed.Count > 0 && trimmed[0].Length == 0)
        {
            trimmed.RemoveAt(0);
        }

        while (trimmed.Count > 0 && trimmed[^1].Length == 0)
        {
            trimmed.RemoveAt(trimmed.Count - 1);
        }

        int indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return trimmed.Select(l => l.Length == 0 ? l : l[indent..]).ToArray();
    }

    /// <summary>Names <paramref name="what"/> and shows its difference from the closest of <paramref name="others"/> (most lines in common).</summary>
    private static string Mismatch(string what, string mine, string[] lines, string theirs, List<Snippet> others)
    {
        var closest = others.MaxBy(o => CommonLines(lines, o.Lines));
        if (closest is null || CommonLines(lines, closest.Lines) == 0)
        {
            return $"{what} matches no {theirs}: add one with the same code.";
        }

        return $"{what} differs from {closest.Name} ({closest.Source}); make the same edit on both sides.\n"
            + $"--- {mine}\n+++ {theirs}\n"
            + Diff(lines, closest.Lines);
    }

    private static int CommonLines(string[] a, string[] b) => Lcs(a, b)[0, 0];

    /// <summary>Suffix LCS lengths: <c>[i, j]</c> is the longest common subsequence of a[i..] and b[j..].</summary>
    private static int[,] Lcs(string[] a, string[] b)
    {
        var table = new int[a.Length + 1, b.Length + 1];
        for (int i = a.Length - 1; i >= 0; i--)
        {
            for (int j = b.Length - 1; j >= 0; j--)
            {
                table[i, j] = a[i] == b[j] ? table[i + 1, j + 1] + 1 : Math.Max(table[i + 1, j], table[i, j + 1]);
            }
        }

        return table;
    }

    /// <summary>A line diff: "-" only in <paramref name="a"/>, "+" only in <paramref name="b"/>, unchanged lines next to a change as context.</summary>
    private static string Diff(string[] a, string[] b)
    {
        var table = Lcs(a, b);
        var script = new List<(char Kind, string Line)>();
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (i < a.Length && j < b.Length && a[i] == b[j])
            {
                script.Add((' ', a[i++]));
                j++;
            }
            else if (i < a.Length && (j == b.Length || table[i + 1, j] >= table[i, j + 1]))
            {
                script.Add(('-', a[i++]));
            }
            else
            {
                script.Add(('+', b[j++]));
            }
        }

        var text = new StringBuilder();
        bool elided = false;
        for (int k = 0; k < script.Count; k++)
        {
            bool nearChange = script[k].Kind != ' '
                || (k > 0 && script[k - 1].Kind != ' ')
                || (k + 1 < script.Count && script[k + 1].Kind != ' ');
            if (nearChange)
            {
                text.Append(script[k].Kind).Append(' ').Append(script[k].Line).Append('\n');
                elided = false;
            }
            else if (!elided)
            {
                text.Append("  ...\n");
                elided = true;
            }
        }

        return text.ToString();
    }
}
