"""Status pages: settings, branding, visibility, and where each page is served."""
