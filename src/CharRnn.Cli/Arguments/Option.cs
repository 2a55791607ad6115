namespace CharRnn.Cli.Arguments;

/// <summary>One command-line option: <c>--name VALUE</c>, or a flag when <see cref="Value"/> is null.</summary>
/// <param name="Name">without the leading dashes</param>
/// <param name="Value">the placeholder shown in help (e.g. "N"), or null for a flag</param>
/// <param name="Help">one line, ending with the default where there is one</param>
internal sealed record Option(string Name, string? Value, string Help)
{
    public bool IsFlag => Value is null;

    /// <summary>May be given several times (<see cref="ParsedArguments.Strings"/> returns every value, in order).</summary>
    public bool Repeatable { get; init; }

    /// <summary>A one-letter alias, <c>-o</c> for <c>--output</c>; none when null.</summary>
    public char? Short { get; init; }
}

/// <summary>The user typed something the command does not accept; the message says what to fix. Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
