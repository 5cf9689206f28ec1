namespace RaftToolkit.Core.Storage;

/// <summary>
/// The <c>[start, end)</c> index ranges of <see cref="IRaftLogReader"/>: one check, so that every
/// store refuses the same ranges with the same error.
/// </summary>
public static class LogRanges
{
    /// <summary>
    /// Throws when <c>[start, end)</c> ends before it starts. An empty range (<paramref name="start"/>
    /// equal to <paramref name="end"/>) is valid and reads nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="start"/> is greater than <paramref name="end"/>.</exception>
    public static void ThrowIfInverted(ulong start, ulong end)
    {
        if (start > end)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"The range [{start}, {end}) ends before it starts.");
        }
    }
}
