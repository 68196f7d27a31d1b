"""Altair chart builders shared by the app and the PDF reports (one chart module, one palette).

Every builder is a pure function from a DataFrame to an Altair chart; `render.to_png` turns any of them
into an image offline for ReportLab.
"""
