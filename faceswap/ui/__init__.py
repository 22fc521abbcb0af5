"""faceswap.ui: the local web page (`faceswap ui`), built with Gradio.

Nothing but the command line imports this package, and importing it loads
no Gradio: `server.serve` does. The page is pure wiring in the facefusion
manner: `layout` arranges the tabs, each tab module (`tabs/`) has a
`render()` that builds its widgets and a `listen()` that wires them to the
same library functions the command line calls, `jobs` runs the long ones in
worker processes, and `paths` keeps every path under the folders given at start.
"""
