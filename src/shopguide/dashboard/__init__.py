"""The web dashboard: static HTML, JavaScript and CSS served by the REST service at ``/``."""
