"""One module per tab, each with render(ctx) -> its widgets and listen(ctx, widgets)."""
