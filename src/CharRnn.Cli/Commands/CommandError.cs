namespace CharRnn.Cli.Commands;

/// <summary>A problem with the user's input or files (not a bug): printed as "charrnn: error: …", exit code 1.</summary>
internal sealed class CommandError(string message) : Exception(message);
