namespace CharRnn.Fast.IO;

/// <summary>
/// Why a file operation failed, without the path: .NET's messages embed the full path ("Could not find file '/a/b'",
/// "Input/output error : '/a/b'"), so a message that names the file itself would name it twice.
/// </summary>
public static class FileErrors
{
    /// <summary>
    /// A short lower-case reason for an <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> raised
    /// on <paramref name="path"/> (.NET reports opening a directory as access denied).
    /// </summary>
    public static string Reason(Exception error, string path)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error switch
        {
            FileNotFoundException => "no such file",
            DirectoryNotFoundException => "no such directory",
            UnauthorizedAccessException when Directory.Exists(path) => "it is a directory",
            UnauthorizedAccessException => "permission denied",
            PathTooLongException => "the path is too long",
            _ => WithoutPath(error.Message),
        };
    }

    // On Unix an errno without a dedicated exception type reads "<strerror> : '<path>'".
    private static string WithoutPath(string message)
    {
        int at = message.LastIndexOf(" : '", StringComparison.Ordinal);
        string reason = at > 0 ? message[..at] : message;
        return reason.Length > 1 && char.IsUpper(reason[0]) && char.IsLower(reason[1]) ? char.ToLowerInvariant(reason[0]) + reason[1..] : reason;
    }
}
