"""``python -m support.labsite``: serve the site until interrupted (see ``support.labsite.external``)."""

from support.labsite.external import main

if __name__ == "__main__":
    main()
