"""Back-office forms, one module per area (see ``scheduling.views``). Forms validate input and hand
clean data to ``scheduling.services``; they never write on their own."""
