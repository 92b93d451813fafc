"""What the bot shows, one module per surface; builders only: they call no Web API and import no listener."""
