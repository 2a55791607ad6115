namespace CharRnn.Cli.Output;

/// <summary>
/// The terminal a command writes to, and what happens when it goes away (the window closed, the ssh session dropped):
/// the kernel hangs it up, every write to it fails from then on (EIO), and SIGHUP follows. A failed write to standard
/// output or error where that is the terminal is taken as the hang-up, as is the signal (<see cref="HungUp"/>): writes to
/// the terminal stop, so a run that is saving and stopping is not ended by an exception first. Standard streams
/// redirected to a file or pipe keep working (a log file still gets the end of the run).
/// </summary>
internal static class Terminal
{
    private static volatile bool s_hungUp;

    /// <summary>Whether the terminal has hung up (then nobody can press Ctrl+C there any more).</summary>
    public static bool IsHungUp => s_hungUp;

    /// <summary>The terminal has hung up: standard output and error that went to it are silenced.</summary>
    public static void HungUp()
    {
        s_hungUp = true;
        if (!Console.IsOutputRedirected) Console.SetOut(TextWriter.Null);
        if (!Console.IsErrorRedirected) Console.SetError(TextWriter.Null);
    }

    /// <summary>
    /// Runs <paramref name="write"/>, a write to standard error (<paramref name="toError"/>) or output: skipped where that
    /// stream is the terminal and it has hung up; a write to the terminal that fails with an <see cref="IOException"/> is
    /// the hang-up.
    /// </summary>
    public static void Write(bool toError, Action write)
    {
        bool terminal = toError ? !Console.IsErrorRedirected : !Console.IsOutputRedirected;
        if (terminal && s_hungUp) return;
        try { write(); }
        catch (IOException) when (terminal) { HungUp(); }
    }
}
