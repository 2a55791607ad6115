using Microsoft.Win32.SafeHandles;

namespace CharRnn.Cli.Output;

/// <summary>
/// Standard output for a command whose output is its whole product (sample): a stream on which a reader that went
/// away (<c>charrnn sample … | head -c 10</c>) shows as an <see cref="IOException"/>, so generation stops instead of
/// running on for nobody. .NET's console stream swallows that error; a file stream on descriptor 1 reports it (the
/// runtime ignores SIGPIPE, so the write fails with EPIPE). Only a pipe or a terminal gets the file stream.
/// </summary>
internal static class StandardOutput
{
    private const int BrokenPipe = 32; // EPIPE on Linux and macOS

    public static Stream Open()
    {
        if (OperatingSystem.IsWindows()) return Console.OpenStandardOutput();
        var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        if (!stream.CanSeek) return stream; // a pipe or a terminal: no reader to lose on a file
        // a file: a FileStream writes at its own position and leaves the descriptor's offset where it was, so the
        // next command writing to the same descriptor (`{ charrnn sample …; charrnn sample …; } > out`) would overwrite
        // this output; the console stream writes through the shared offset
        stream.Dispose();
        return Console.OpenStandardOutput();
    }

    /// <summary>Whether <paramref name="error"/> says the reader of standard output has gone.</summary>
    public static bool ReaderGone(IOException error) => error.HResult == BrokenPipe || error.Message.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase);
}
