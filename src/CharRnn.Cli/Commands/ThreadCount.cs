using CharRnn.Cli.Arguments;

namespace CharRnn.Cli.Commands;

/// <summary>The <c>--threads</c> option of train, sample and bench.</summary>
internal static class ThreadCount
{
    /// <summary>
    /// --threads N (default 1, at most 256). More threads than the processors this process may use cannot all run at
    /// once: they take turns, so a warning on stderr says that they make it no faster.
    /// </summary>
    public static int Read(ParsedArguments a)
    {
        int threads = a.Int("threads", 1, 1, 256), processors = Environment.ProcessorCount;
        if (threads > processors)
            Console.Error.WriteLine($"charrnn: warning: --threads {threads} is more than the {processors} processor(s) available; " +
                $"threads beyond {processors} take turns and make it no faster");
        return threads;
    }
}
