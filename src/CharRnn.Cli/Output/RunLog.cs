using CharRnn.Fast.IO;

namespace CharRnn.Cli.Output;

/// <summary>
/// <c>train --log FILE</c>: the run's <c>--json</c> records appended to a file, one line each, flushed as written (so
/// <c>tail -f</c> follows the run and a crash loses no line already reported; a line a crash cut short is ended before
/// the next run appends). A file that cannot be opened fails before
/// step 1; a write that fails later (a full disk) stops the log with one warning and the run goes on.
/// </summary>
internal sealed class RunLog : IDisposable
{
    private readonly FileStream _file;
    private bool _failed;

    private RunLog(string path, FileStream file) => (Path, _file) = (path, file);

    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> for appending (created if missing); a problem is a <see cref="CommandError"/>-worthy message.</summary>
    public static RunLog Open(string path)
    {
        try
        {
            if (Directory.Exists(path)) throw new IOException("it is a directory");
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
            try
            {
                // a line cut short (a run killed while writing) is ended, so this run's first record starts a line of its own
                if (file.Length > 0)
                {
                    // appended to only if it is a log: its first record, a JSON object, starts the file
                    if (file.ReadByte() != '{')
                        throw Commands.ReplaceCheck.Refusal(path, "a training log", "--log");
                    file.Position = file.Length - 1;
                    if (file.ReadByte() != '\n') file.WriteByte((byte)'\n');
                }
                file.Position = file.Length;
                return new RunLog(path, file);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Commands.CommandError($"cannot write log '{path}': {(e.Message == "it is a directory" ? e.Message : FileErrors.Reason(e, path))}");
        }
    }

    /// <summary>Appends one record; returns a warning the first time a write fails, null otherwise.</summary>
    public string? Append(byte[] line)
    {
        if (_failed) return null;
        try
        {
            _file.Write(line);
            _file.Flush();
            return null;
        }
        catch (IOException e)
        {
            _failed = true;
            return $"cannot write log '{Path}' ({FileErrors.Reason(e, Path)}): it stops here; training goes on";
        }
    }

    public void Dispose()
    {
        try { _file.Dispose(); }
        catch (IOException) { } // nothing buffered: every record was flushed or already reported as lost
    }
}
